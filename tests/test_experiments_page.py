"""The Experiments page under AppTest, over copies of the shipped models."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import copy_shipped, elements

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages" / "experiments.py")
SHIPPED = ("mlp-raw", "mlp-rescaled", "mlp-relu", "cnn")


@pytest.fixture
def shipped_copy(models_dir):
    """The four shipped models, copied into the private models folder."""
    return copy_shipped(models_dir, SHIPPED)


def open_section(at: AppTest, section: str | None = None) -> AppTest:
    if section is not None:
        at.session_state["exp_section"] = section
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_every_section_renders_for_the_shipped_models(shipped_copy):
    at = open_section(AppTest.from_file(PAGE, default_timeout=300))

    # The staircase: one chart, one table row per model, in the talk's order.
    assert at.title[0].value == "Experiments"
    assert len(elements(at, "vega_lite_chart")) == 1
    table = at.dataframe[0].value
    assert list(table["name"]) == list(SHIPPED)
    assert table["test_accuracy"].between(0.8, 1.0).all()

    open_section(at, "Learning curves")
    assert at.multiselect(key="exp_curves_runs").value == list(SHIPPED)
    assert len(elements(at, "vega_lite_chart")) == 2  # loss and accuracy

    open_section(at, "Errors")
    assert at.selectbox(key="exp_model").value == "cnn"
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value.endswith("%")
    assert len(elements(at, "vega_lite_chart")) == 2  # confusion matrix, per digit
    assert "most confident mistakes" in " ".join(m.value for m in at.markdown)
    (gallery,) = elements(at, "image")
    assert len(gallery.proto.imgs) == 24
    assert "→" in gallery.proto.imgs[0].caption

    open_section(at, "Representations")
    assert at.selectbox(key="exp_model").value == "cnn"
    assert len(elements(at, "vega_lite_chart")) == 1  # the RSA curve
    rdms = elements(at, "image")
    assert len(rdms) == 7  # pixels, five layers, and the ideal category RDM
    assert "rsatoolbox" in " ".join(m.value for m in at.markdown)

    open_section(at, "Lesions")
    assert [m.label for m in at.metric] == ["Intact"]
    at.multiselect(key="exp_lesion_cnn_conv2d_units").set_value(list(range(8)))
    open_section(at)
    lesioned = at.metric[1]
    assert lesioned.label == "8 unit(s) of conv2d silenced"
    assert float(lesioned.value.rstrip("%")) < 20  # about chance
    assert lesioned.delta.startswith("-")


def test_model_choice_survives_switching_sections(shipped_copy):
    at = open_section(AppTest.from_file(PAGE, default_timeout=300), "Errors")
    at.selectbox(key="exp_model").set_value("mlp-relu")
    open_section(at)
    assert at.metric[0].value == f"{_accuracy(shipped_copy, 'mlp-relu'):.2%}"
    open_section(at, "Staircase")
    open_section(at, "Lesions")
    assert at.selectbox(key="exp_model").value == "mlp-relu"
    assert at.selectbox(key="exp_lesion_mlp-relu_layer").options == ["dense (16 units)", "dense_1 (16 units)"]
    at.toggle(key="exp_lesion_sweep").set_value(True)
    open_section(at)
    assert "Each unit silenced alone" in " ".join(m.value for m in at.markdown)


def _accuracy(folder: Path, name: str) -> float:
    import json

    return json.loads((folder / f"{name}.json").read_text())["test_accuracy"]


def test_broken_models_are_listed_with_their_error(shipped_copy):
    (shipped_copy / "broken.json").write_text("{not json")
    (shipped_copy / "orphan.json").write_text((shipped_copy / "cnn.json").read_text())
    at = open_section(AppTest.from_file(PAGE, default_timeout=300))
    warnings = " ".join(w.value for w in at.warning)
    assert "broken" in warnings and "unreadable metadata" in warnings
    assert "orphan" in warnings and "weights file" in warnings
    table = at.dataframe[0].value
    assert set(table["name"]) == {*SHIPPED, "broken", "orphan"}
    assert len(elements(at, "vega_lite_chart")) == 1


def test_an_empty_models_folder_says_what_to_do(models_dir):
    at = open_section(AppTest.from_file(PAGE, default_timeout=60))
    assert "Train" in at.info[0].value
