"""The Draw page under AppTest, with the canvas replaced by an injected drawing."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_pages import canvas
from tests.conftest import copy_shipped, elements
from tests.support import digit_paths, render

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "draw.py")
SHIPPED = ("mlp-relu", "cnn")


@pytest.fixture
def shipped_copy(models_dir):
    return copy_shipped(models_dir, SHIPPED)


class FakeCanvas:
    """Stands in for `app_pages.canvas.draw_canvas`: returns `image`, records the keys it got."""

    def __init__(self, image=None):
        self.image = image
        self.keys: list[str] = []
        self.thick: list[bool] = []

    def __call__(self, key: str, *, thick: bool = False):
        self.keys.append(key)
        self.thick.append(thick)
        return self.image


@pytest.fixture
def fake_canvas(monkeypatch, shipped_copy):
    fake = FakeCanvas()
    monkeypatch.setattr(canvas, "draw_canvas", fake)
    return fake


def run(at: AppTest | None = None) -> AppTest:
    at = (at or AppTest.from_file(PAGE, default_timeout=120)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def predictions(at: AppTest) -> list[str]:
    return [m.value for m in at.metric if m.label == "Prediction"]


def shown(markdown: str) -> str:
    """Markdown's text as a reader sees it: escaped characters without their backslash."""
    return re.sub(r"\\(.)", r"\1", markdown)


def charts(at: AppTest) -> list:
    return elements(at, "arrow_vega_lite_chart", "vega_lite_chart")


def test_an_empty_canvas_gets_a_hint_and_no_prediction(fake_canvas):
    at = run()
    assert predictions(at) == []
    assert any("Draw a digit" in i.value for i in at.info)
    assert "last_drawing" not in at.session_state
    assert at.selectbox(key="draw_model").value == "cnn", "the best CNN is the default"


def test_a_blank_canvas_after_clearing_gets_the_hint(fake_canvas):
    fake_canvas.image = np.zeros((280, 280, 4), np.uint8) + np.array([0, 0, 0, 255], np.uint8)
    at = run()
    assert predictions(at) == []
    assert any("Draw a digit" in i.value for i in at.info)


@pytest.mark.parametrize("model", SHIPPED)
def test_a_drawn_digit_is_predicted_shown_and_stored(fake_canvas, model):
    fake_canvas.image = render(digit_paths(3))
    at = run()
    at.selectbox(key="draw_model").set_value(model)
    at = run(at)
    assert predictions(at) == ["3"]
    assert len(charts(at)) == 1, "the ten probabilities as a chart"
    assert at.session_state["draw_model"] == model
    stored = at.session_state["last_drawing"]
    assert stored.shape == (28, 28) and stored.dtype == np.float32 and stored.max() == pytest.approx(255)
    assert not at.info and not at.error


def test_each_digit_drawn_is_read(fake_canvas):
    at = run()
    for digit in (0, 7):
        fake_canvas.image = render(digit_paths(digit))
        at = run(at)
        assert predictions(at) == [str(digit)]


def test_clear_gives_a_new_empty_canvas(fake_canvas):
    fake_canvas.image = render(digit_paths(1))
    at = run()
    first_key = fake_canvas.keys[-1]
    at.button(key="draw_clear").click()
    at = run(at)
    assert fake_canvas.keys[-1] != first_key, "a new key remounts an empty canvas"


def png(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


def test_an_uploaded_photo_of_a_digit_is_read(fake_canvas):
    paper = 255 - render(digit_paths(4))[..., 0]  # dark ink on light paper, a JPEG
    at = run()
    at.file_uploader(key="draw_upload").set_value(("four.jpg", png(paper, "JPEG"), "image/jpeg"))
    at = run(at)
    assert predictions(at) == ["4"]
    assert not at.error


def test_an_unreadable_upload_gets_an_error_and_the_page_keeps_working(fake_canvas):
    fake_canvas.image = render(digit_paths(2))
    at = run()
    at.file_uploader(key="draw_upload").set_value(("digit.png", b"this is not a PNG", "image/png"))
    at = run(at)
    assert len(at.error) == 1 and "digit.png" in shown(at.error[0].value)
    assert predictions(at) == ["2"], "the drawing still gets its prediction"


def test_presentation_mode_draws_thicker_strokes(fake_canvas):
    at = run()
    assert fake_canvas.thick[-1] is False
    at.session_state["present"] = True  # what the app's presentation toggle sets
    run(at)
    assert fake_canvas.thick[-1] is True


# --- inside the network --------------------------------------------------------------------


def images(at: AppTest) -> list:
    """Every picture on the page, one per image (an element may hold several), with captions."""
    return [img for element in at.get("image") for img in element.proto.imgs]


def layer_captions(at: AppTest) -> list[str]:
    """The layers shown as live pictures, by name (their captions start with it)."""
    live = [img.caption for img in images(at) if "maps of" in img.caption or "units, one cell" in img.caption]
    return [caption.split(":")[0] for caption in live]


@pytest.mark.parametrize(
    ("model", "layers"),
    [("cnn", ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1"]), ("mlp-relu", None)],
)
def test_every_hidden_layer_is_shown_beside_the_prediction(fake_canvas, model, layers):
    fake_canvas.image = render(digit_paths(3))
    at = run()
    at.selectbox(key="draw_model").set_value(model)
    at = run(at)
    assert predictions(at) == ["3"]
    shown_layers = layer_captions(at)
    if layers is None:  # the MLP's two hidden dense layers; their names depend on the run
        assert len(shown_layers) == 2 and all(
            "16 units" in i.caption for i in images(at) if "units, one" in i.caption
        )
    else:
        assert shown_layers == layers
    assert any("Inside the network" in c.value for c in at.caption)


def test_no_layers_before_a_drawing(fake_canvas):
    at = run()
    assert layer_captions(at) == []


def test_occlusion_shows_a_cnn_and_an_mlp_side_by_side(fake_canvas):
    fake_canvas.image = render(digit_paths(1))
    at = run()
    at.button_group(key="draw_inside").set_value("Occlusion")
    at = run(at)
    maps = [c for c in charts(at) if '"drop"' in c.proto.spec]
    assert len(maps) == 2
    titles = [json.loads(c.proto.spec)["title"] for c in maps]
    assert titles[0] == "cnn" and titles[1] == "mlp-relu", "the chosen CNN and the best MLP, the CNN first"
    assert sum("reads 1" in c.value for c in at.caption) == 2


def test_invariance_reads_the_changed_drawing_with_the_four_talk_networks(fake_canvas):
    fake_canvas.image = render(digit_paths(7))
    at = run()
    at.button_group(key="draw_inside").set_value("Invariance")
    at = run(at)
    talk = ["mlp-raw", "mlp-rescaled", "mlp-relu", "cnn"]
    assert [m.label for m in at.metric if m.label != "Prediction"] == [n for n in talk if n in SHIPPED]
    assert at.multiselect(key="inv_models").value == [n for n in talk if n in SHIPPED]
    curves = [c for c in charts(at) if "hconcat" in c.proto.spec]
    assert len(curves) == 1
    at.slider(key="inv_dx").set_value(6)
    at = run(at)
    changed = next(i for i in images(at) if i.caption == "changed drawing")
    assert changed.url


def test_what_units_want_shows_each_class_image_read_as_its_class(fake_canvas):
    at = run()
    at.button_group(key="draw_inside").set_value("What units want")
    at = run(at)
    wants = [i.caption for i in images(at) if i.caption.startswith("wants")]
    assert wants == [f"wants {d}, read as {d}" for d in range(10)]
    at.selectbox(key="units_layer").set_value("conv2d_1")
    at = run(at)
    assert len([i for i in images(at) if i.caption.endswith("top 9")]) == 8
    assert len([i for i in images(at) if i.caption.endswith("wants")]) == 8
