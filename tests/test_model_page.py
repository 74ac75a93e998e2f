"""AppTest of the Model page, for each of the four presets, saved and untrained."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dnnlab import registry
from dnnlab.architectures import PRESETS, build_model, preset_spec

PAGE = str(Path(__file__).resolve().parent.parent / "app_pages" / "model.py")
PARAMS = {"mlp-raw": "13,002", "mlp-rescaled": "13,002", "mlp-relu": "13,002", "cnn": "2,674"}


@pytest.fixture(scope="module")
def saved_presets(tmp_path_factory):
    """The four presets, untrained, saved in a private models folder (no training: fast)."""
    folder = tmp_path_factory.mktemp("models")
    for name in PRESETS:
        spec = preset_spec(name)
        meta = {"preset": name, "spec": spec.to_dict(), "test_accuracy": None}
        registry.save(build_model(spec), meta, name, directory=folder)
    return folder


@pytest.fixture
def page(saved_presets, monkeypatch):
    monkeypatch.setenv("DNNLAB_MODELS", str(saved_presets))
    return AppTest.from_file(PAGE, default_timeout=120)


def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def open_tab(at, label: str):
    at.session_state["mp_tab"] = label
    return at.run()


@pytest.mark.parametrize("name", list(PRESETS))
def test_saved_preset_shows_every_tab(page, name):
    page.session_state["mp_model"] = name
    at = page.run()
    assert not at.exception
    assert at.selectbox(key="mp_model").value == name
    # Layers: the table as Keras prints it (with each layer's activation, after the input
    # row), its totals and the diagram.
    table = at.dataframe[0].value
    assert list(table.columns) == ["Layer (type)", "Output Shape", "Activation", "Param #"]
    assert len(table) == 1 + {"cnn": 6}.get(name, 3)
    assert f"{table['Param #'].sum():,}" == PARAMS[name]
    assert f"Total params: {PARAMS[name]}" in markdown_text(at)
    assert len(at.get("image")) == 1
    # Only the open tab runs: the others hold nothing yet.
    assert [len(t.children) for t in at.tabs[1:]] == [0, 0, 0]

    at = open_tab(at, "Weights")
    assert not at.exception
    assert len(at.dataframe) == 0
    assert len(at.get("image")) == (2 if name == "cnn" else 1)  # two filter grids, or receptive fields
    assert ("3×3" if name == "cnn" else "784 weights") in markdown_text(at)

    at = open_tab(at, "Activations")
    assert not at.exception
    assert "test image #" in markdown_text(at)
    images, charts = at.get("image"), at.get("vega_lite_chart")
    if name == "cnn":
        assert (len(images), len(charts)) == (1 + 4, 2)  # input + 4 feature-map grids; flatten, output
    else:
        assert (len(images), len(charts)) == (1, 3)  # input; three dense layers as bars

    at = open_tab(at, "Tuning")
    assert not at.exception
    assert "10,000 test images" in markdown_text(at)
    (chart,) = at.get("vega_lite_chart")
    assert '"hconcat"' in chart.proto.spec
    at.checkbox(key="mp_normalise").check().run()
    assert not at.exception


def test_untrained_preset(page):
    at = page.run()
    at.radio(key="mp_kind").set_value("Untrained preset").run()
    at.selectbox(key="mp_preset").set_value("cnn").run()
    assert not at.exception
    assert any("untrained" in i.value for i in at.info)
    assert "Total params: 2,674" in markdown_text(at)
    assert at.dataframe[0].value["Output Shape"].tolist()[:2] == ["(None, 28, 28, 1)", "(None, 26, 26, 8)"]


def test_the_talks_three_mlps_look_different_on_the_layers_tab(page):
    """Same shapes, same parameters: the pixel scaling and the activations tell them apart."""
    seen = {}
    for name in ("mlp-raw", "mlp-rescaled", "mlp-relu"):
        page.session_state["mp_model"] = name
        at = page.run()
        assert not at.exception
        table = at.dataframe[0].value
        (diagram,) = at.get("image")
        svg = base64.b64decode(diagram.proto.imgs[0].url.removeprefix("data:image/svg+xml;base64,")).decode()
        seen[name] = (table["Layer (type)"][0], list(table["Activation"]), svg)
    assert seen["mlp-raw"][0] == "input (raw pixels 0-255)"
    assert seen["mlp-rescaled"][0] == seen["mlp-relu"][0] == "input (pixels ÷ 255 → 0-1)"
    assert seen["mlp-raw"][1] == seen["mlp-rescaled"][1] == ["—", "linear", "linear", "softmax"]
    assert seen["mlp-relu"][1] == ["—", "relu", "relu", "softmax"]
    assert ">raw pixels 0-255<" in seen["mlp-raw"][2] and ">relu<" in seen["mlp-relu"][2]
    assert len({svg for _, _, svg in seen.values()}) == 3


def test_test_digit_by_index_and_by_class(page):
    at = open_tab(page, "Activations")
    at.radio(key="mp_source").set_value("index").run()
    at.number_input(key="mp_index").set_value(123).run()
    assert not at.exception
    assert "test image #123" in markdown_text(at)
    at.radio(key="mp_source").set_value("class").run()
    at.selectbox(key="mp_digit").set_value(7).run()
    assert not at.exception
    assert "(a 7)" in markdown_text(at)


def test_last_drawing(page):
    at = open_tab(page, "Activations")
    at.radio(key="mp_source").set_value("drawing").run()
    assert not at.exception
    assert any("No drawing yet" in i.value for i in at.info)
    drawing = np.zeros((28, 28), dtype=np.float32)
    drawing[6:22, 13:15] = 255.0  # a "1"
    at.session_state["last_drawing"] = drawing
    at.run()
    assert not at.exception
    assert not any("No drawing yet" in i.value for i in at.info)
    assert "your last drawing" in markdown_text(at)


def test_no_saved_models(models_dir):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("No saved models" in i.value for i in at.info)
    assert len(at.dataframe) == 0


def test_presenting_enlarges_the_charts_text(page):
    page.session_state["mp_model"] = "mlp-relu"
    page.session_state["present"] = True
    at = open_tab(page, "Activations")
    assert not at.exception
    bars = at.get("vega_lite_chart")  # the three dense layers' activations
    assert len(bars) == 3
    assert all(json.loads(chart.proto.spec)["config"]["axis"]["labelFontSize"] >= 18 for chart in bars)
