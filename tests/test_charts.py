"""Unit tests of dnnlab.charts: count the marks, rows and pixels each builder makes."""

from __future__ import annotations

import json
import re

import altair as alt
import numpy as np
import pandas as pd
import pytest
import vl_convert

from dnnlab import charts, inspection, probes, rsa
from dnnlab.architectures import PRESETS, build_model, preset_spec
from tests.support import progress_report as progress


@pytest.fixture(scope="module")
def models():
    """Each preset, untrained: pictures read shapes and weights, not skill."""
    return {name: build_model(preset_spec(name)) for name in PRESETS}


# --- pictures --------------------------------------------------------------------------


def test_colourise_is_symmetric_and_blank_where_nan():
    rgb = charts.colourise(np.array([-2.0, 0.0, 2.0, np.nan]), -2.0, 2.0, diverging=True)
    assert rgb.dtype == np.uint8 and rgb.shape == (4, 3)
    assert rgb[0, 2] > rgb[0, 0]  # negative is blue
    assert rgb[2, 0] > rgb[2, 2]  # positive is red
    assert rgb[1].min() >= 240  # zero is (nearly) white
    assert tuple(rgb[3]) == (255, 255, 255)  # NaN is the background
    grey = charts.colourise(np.array([0.0, 255.0]), 0.0, 255.0, diverging=False)
    assert tuple(grey[0]) == (0, 0, 0) and tuple(grey[1]) == (255, 255, 255)


def test_montage_places_images_in_a_grid():
    stack = np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2)
    grid = charts.montage(stack, columns=2, pad=1)
    assert grid.shape == (5, 5)
    np.testing.assert_array_equal(grid[3:5, 0:2], stack[2])
    assert np.isnan(grid[3:5, 3:5]).all() and np.isnan(grid[2]).all()


def test_enlarge_keeps_pixels_square():
    rgb = np.arange(2 * 2 * 3, dtype=np.uint8).reshape(2, 2, 3)
    big = charts.enlarge(rgb, 3)
    assert big.shape == (6, 6, 3)
    np.testing.assert_array_equal(big[3:6, 0:3], np.broadcast_to(rgb[1, 0], (3, 3, 3)))


@pytest.mark.parametrize("name", ["mlp-raw", "mlp-rescaled", "mlp-relu"])
def test_mlp_weight_picture_is_a_grid_of_receptive_fields(models, name):
    (picture,) = charts.weight_pictures(models[name])
    assert picture.image.dtype == np.uint8 and picture.image.shape[2] == 3
    # 16 units in 8 columns × 2 rows of 28 pixels with 2-pixel gutters, enlarged 4 times.
    assert picture.image.shape[:2] == (4 * (2 * 28 + 2), 4 * (8 * 28 + 7 * 2))
    assert "Blue negative, red positive" in picture.caption


def test_cnn_weight_pictures_show_every_filter(models):
    pictures = charts.weight_pictures(models["cnn"])
    assert len(pictures) == 2
    assert pictures[0].image.shape[:2] == (16 * 3, 16 * (8 * 3 + 7))  # 8 filters in a row
    # The second layer is a grid of 8 filters (rows) × 8 input channels (columns).
    assert pictures[1].image.shape[:2] == (16 * (8 * 3 + 7), 16 * (8 * 3 + 7))


def test_activation_pictures_are_grids_and_bars(models, mnist):
    _, (x_test, _) = mnist
    probe = probes.Probe(models["cnn"], preset_spec("cnn"))
    pictures = charts.activation_pictures(probe.activations(x_test[0]))
    assert [p.image is not None for p in pictures] == [True, True, True, True, False, False]
    assert "8@26×26" in pictures[0].title
    assert pictures[0].image.shape[2] == 3
    bars = pictures[-1].chart.to_dict()
    assert bars["encoding"]["x"]["field"] == "digit"
    assert len(bars["datasets"][bars["data"]["name"]]) == 10


def test_input_picture_is_white_ink_on_black():
    image = np.zeros((28, 28), dtype=np.float32)
    image[10, 12] = 255.0
    rgb = charts.input_picture(image, scale=4)
    assert rgb.shape == (112, 112, 3)
    assert tuple(rgb[0, 0]) == (0, 0, 0) and tuple(rgb[41, 49]) == (255, 255, 255)


@pytest.mark.parametrize("name", list(PRESETS))
def test_diagram_has_a_box_and_label_per_layer(models, name):
    svg = charts.diagram_svg(models[name], preset_spec(name))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for layer in models[name].layers:
        assert f">{layer.name}<" in svg
    if name == "cnn":
        assert ">8@26×26<" in svg and ">1@28×28<" in svg and ">200<" in svg
    else:
        assert ">784<" in svg and ">16<" in svg
    scaling = ">pixels ÷ 255 → 0-1<" if preset_spec(name).rescale else ">raw pixels 0-255<"
    assert svg.count(scaling) == 1
    activation = "relu" if name == "mlp-relu" else "linear"
    assert svg.count(f">{activation}<") == {"cnn": 2}.get(name, 2) and svg.count(">softmax<") == 1


def test_layer_table_adds_the_input_step_and_activations(models):
    table = charts.layer_table(models["mlp-relu"], preset_spec("mlp-relu"))
    assert list(table["Layer (type)"])[0] == "input (pixels ÷ 255 → 0-1)"
    assert list(table["Activation"]) == ["—", "relu", "relu", "softmax"]
    assert table["Param #"].sum() == models["mlp-relu"].count_params()


# --- tuning ------------------------------------------------------------------------------


def test_tuning_chart_has_one_heat_map_per_layer(models, small_mnist):
    _, (x_test, y_test) = small_mnist
    probe = probes.Probe(models["mlp-relu"], preset_spec("mlp-relu"))
    matrices = inspection.tuning_matrices(probe, x_test, y_test)
    spec = charts.tuning_chart(matrices, normalise=True).to_dict()
    assert spec["autosize"] == "pad"  # "fit", Streamlit's default, is not for side-by-side views
    assert len(spec["hconcat"]) == 3
    assert all(c["mark"]["type"] == "rect" for c in spec["hconcat"])
    first = spec["datasets"][spec["hconcat"][0]["data"]["name"]]
    assert len(first) == 16 * 10
    assert max(abs(r["mean activation"]) for r in first) == pytest.approx(1.0)  # normalised rows
    for heat_map in spec["hconcat"]:  # all ten classes labelled: Vega may not drop any label
        data = spec["datasets"][heat_map["data"]["name"]]
        assert sorted({r["digit"] for r in data}) == list(range(10))
        assert heat_map["encoding"]["x"]["axis"]["labelOverlap"] is False


# --- the live training chart ---------------------------------------------------------------


def test_curves_recover_the_batches_between_running_means():
    # Keras reports running means: 1.0 over batches 1-10, then 0.5 over 1-20, so
    # batches 11-20 averaged 0.0.
    records = [
        progress(10, loss=1.0, accuracy=0.2),
        progress(20, loss=0.5, accuracy=0.4),
        progress(100, kind="epoch", loss=0.5, accuracy=0.4, val=(0.3, 0.9)),
        progress(50, epoch=2, loss=0.2, accuracy=0.8),
    ]
    rows = charts.curves(records, smoothing=1e-9)  # no smoothing
    training_loss = [r for r in rows if r["metric"] == "loss" and r["split"] == "training"]
    assert [r["epoch"] for r in training_loss] == pytest.approx([0.1, 0.2, 1.0, 1.5])
    assert [r["value"] for r in training_loss] == pytest.approx([1.0, 0.0, 0.5, 0.2], abs=1e-5)
    assert min(r["value"] for r in training_loss) > 0  # the loss axis is logarithmic
    validation = [(r["epoch"], r["metric"], r["value"]) for r in rows if r["split"] == "validation"]
    assert validation == [(1.0, "loss", 0.3), (1.0, "accuracy", 0.9)]
    # Smoothing pulls each point toward the previous ones.
    smoothed = [
        r["value"] for r in charts.curves(records) if r["metric"] == "loss" and r["split"] == "training"
    ]
    assert smoothed[0] == 1.0 and 0.0 < smoothed[1] < 1.0


def test_a_stop_mid_epoch_ends_the_curve_mid_epoch():
    """The last report of a stopped run says where it stopped: no point at the epoch's end."""
    records = [
        progress(100, kind="epoch", loss=0.5, accuracy=0.8, val=(0.4, 0.85)),
        progress(20, epoch=2, loss=0.4, accuracy=0.85),
        progress(30, epoch=2, loss=0.38, accuracy=0.86),  # stopped here
    ]
    rows = charts.curves(records)
    assert max(r["epoch"] for r in rows) == pytest.approx(1.3)
    assert [r["epoch"] for r in rows if r["split"] == "validation"] == [1.0, 1.0]


def final_accuracy_rows(final: float, epochs: int = 5) -> list[dict]:
    """A run's accuracy climbing from 10% to `final` over `epochs`, ten points an epoch."""
    points = np.linspace(0.1, epochs, epochs * 10)
    values = final - (final - 0.1) * np.exp(-3 * points)
    rows = [
        {"epoch": float(e), "metric": "accuracy", "split": "training", "value": float(v)}
        for e, v in zip(points, values, strict=True)
    ]
    return rows + [{**r, "metric": "loss", "value": 1.0 - r["value"]} for r in rows]


def test_live_chart_is_tall_and_zoomed_so_89_and_98_percent_look_different():
    earlier = [("mlp-raw", final_accuracy_rows(0.89))]
    loss, accuracy = charts.live_specs(final_accuracy_rows(0.98), 5, earlier=earlier)
    assert loss["height"] >= 400 and accuracy["height"] >= 400
    low, high = accuracy["encoding"]["y"]["scale"]["domain"]
    assert high == 1.0 and 0.8 <= low <= 0.87
    gap = (0.98 - 0.89) / (high - low) * accuracy["height"]
    assert gap >= 100  # pixels between the two runs' final accuracies
    assert charts.live_specs([], 5, height=520)[1]["height"] == 520


def test_live_chart_draws_earlier_runs_faintly_and_labelled():
    earlier = [("mlp-raw 89%", final_accuracy_rows(0.89)), ("mlp-rescaled 93%", final_accuracy_rows(0.93, 3))]
    live = final_accuracy_rows(0.96, 1)
    _, accuracy = charts.live_specs(live, 5, earlier=earlier)
    values = accuracy["data"]["values"]
    assert len(values) == len(live) + sum(len(rows) for _, rows in earlier)
    assert {v.get("run") for v in values} == {None, "mlp-raw 89%", "mlp-rescaled 93%"}
    faint, labels, *mine = accuracy["layer"]
    assert faint["mark"]["opacity"] < 0.5 and faint["encoding"]["detail"]["field"] == "run"
    assert labels["mark"]["type"] == "text" and labels["encoding"]["text"]["field"] == "run"
    assert all("!isValid(datum.run)" in json.dumps(layer["transform"]) for layer in mine)
    assert accuracy["encoding"]["x"]["scale"]["domain"] == [0, 5]


@pytest.mark.parametrize("validation", [True, False])
def test_live_chart_has_a_validation_legend_only_with_a_validation_split(validation):
    for spec in charts.live_specs(final_accuracy_rows(0.9), 2, validation=validation):
        colours = [layer["encoding"]["color"] for layer in spec["layer"] if "color" in layer["encoding"]]
        assert colours
        for colour in colours:
            assert colour["scale"]["domain"] == (["training", "validation"] if validation else ["training"])
            assert ("legend" in colour and colour["legend"] is None) is not validation


def test_live_specs_have_data_inline_only_and_are_valid():
    loss, accuracy = charts.live_specs(final_accuracy_rows(0.9), 2, earlier=[("a", final_accuracy_rows(0.8))])
    for spec in (loss, accuracy):
        assert "datasets" not in json.dumps(spec)
        assert all("data" not in layer for layer in spec["layer"])  # would shadow the rows
        alt.LayerChart.from_dict(spec)  # raises if the spec breaks the Vega-Lite schema
    assert loss["encoding"]["y"]["scale"]["type"] == "log"


# --- the Draw page's probabilities -------------------------------------------------------


def test_probability_chart_has_ten_bars_with_data_inline():
    probabilities = np.array([0.01, 0.02, 0.03, 0.6, 0.04, 0.05, 0.06, 0.07, 0.08, 0.04])
    spec = charts.probability_spec(probabilities, predicted=3)
    assert spec["mark"]["type"] == "bar"
    assert "datasets" not in spec  # an empty named data set would replace the bars
    rows = spec["data"]["values"]
    assert [r["digit"] for r in rows] == list(range(10))
    assert [r["probability"] for r in rows] == pytest.approx(probabilities)
    assert [r["digit"] for r in rows if r["predicted"]] == [3]
    alt.Chart.from_dict(spec)
    assert rendered_svg(spec).count('aria-roledescription="bar"') == 10


# --- presentation mode -------------------------------------------------------------------


def test_for_projector_enlarges_text_of_specs_and_charts():
    spec = charts.probability_spec([0.1] * 10, 0)
    big = charts.for_projector(spec)
    assert big["config"]["axis"]["labelFontSize"] >= 18 and big["config"]["title"]["fontSize"] >= 24
    assert big["config"]["view"] == spec["config"]["view"]  # the rest of the config is kept
    assert "labelFontSize" not in spec["config"].get("axis", {})  # the original is untouched
    chart = charts.unit_bars(np.arange(10.0), is_output=True)
    big_chart = charts.for_projector(chart)
    assert big_chart.to_dict()["config"]["legend"]["labelFontSize"] >= 18
    assert "labelFontSize" not in json.dumps(chart.to_dict())


# --- the Experiments page ------------------------------------------------------------------


def stairs_of(accuracies: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for preset, values in accuracies.items():
        for seed, value in enumerate(values):
            name = preset if seed == 0 else f"{preset}-seed{seed}"
            talk = PRESETS[preset].talk_accuracy if preset in PRESETS else None
            rows.append(
                {
                    "name": name,
                    "preset": preset if preset in PRESETS else "custom",
                    "test_accuracy": value,
                    "talk_accuracy": talk,
                }
            )
    return pd.DataFrame(rows)


def test_staircase_shows_each_presets_seeds_with_mean_and_range():
    stairs = stairs_of(
        {
            "mlp-raw": [0.881, 0.862, 0.875],
            "mlp-rescaled": [0.93, 0.925],
            "mlp-relu": [0.962],
            "cnn": [0.981, 0.984, 0.979, 0.983, 0.98],
        }
    )
    stairs = pd.concat(
        [stairs, stairs_of({"my-wide-mlp": [0.95]}).assign(name="my-wide-mlp")], ignore_index=True
    )
    spec = charts.staircase_chart(stairs).to_dict()
    bars, labels, ranges, dots, ticks, talk_labels = spec["layer"]
    steps = spec["datasets"][bars["data"]["name"]]
    assert [s["step"] for s in steps] == [*PRESETS, "my-wide-mlp"]
    assert [s["runs"] for s in steps] == [3, 2, 1, 5, 1]
    # One label per bar, with the bar's real (mean) accuracy, not the talk's figure.
    assert labels["mark"]["type"] == "text" and labels["data"] == bars["data"]
    assert labels["encoding"]["text"]["field"] == "mean" and labels["encoding"]["text"]["format"] == ".1%"
    assert [round(s["mean"], 4) for s in steps] == [
        round(np.mean(v), 4)
        for v in ([0.881, 0.862, 0.875], [0.93, 0.925], [0.962], [0.981, 0.984, 0.979, 0.983, 0.98], [0.95])
    ]
    assert labels["mark"]["color"] == "white" and bars["mark"]["type"] == "bar"
    assert [(s["low"], s["high"]) for s in steps][0] == (0.862, 0.881)
    assert ranges["encoding"]["y"]["field"] == "low" and ranges["encoding"]["y2"]["field"] == "high"
    assert len(spec["datasets"][dots["data"]["name"]]) == len(stairs)  # every run a dot
    # The talk's figures: a short black tick beside the runs and a "talk 87%" label, presets only.
    assert ticks["mark"]["type"] == "tick" and ticks["mark"]["color"] == "black"
    assert ticks["mark"]["xOffset"] > 0 > dots["mark"]["xOffset"]  # beside the dots, not on them
    assert [s["talk_accuracy"] for s in steps][:4] == [p.talk_accuracy for p in PRESETS.values()]
    assert "talk " in json.dumps(talk_labels["transform"])


def rendered_svg(spec: dict) -> str:
    """The SVG Vega draws for a spec (vl-convert runs Vega itself, as the browser does)."""
    return vl_convert.vegalite_to_svg(spec)


def test_staircase_as_drawn_has_one_real_label_per_bar():
    accuracies = {
        "mlp-raw": [0.881, 0.862],
        "mlp-rescaled": [0.932],
        "mlp-relu": [0.962, 0.958],
        "cnn": [0.983],
    }
    svg = rendered_svg(charts.staircase_chart(stairs_of(accuracies)).to_dict())
    assert svg.count('aria-roledescription="bar"') == 4
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    means = [f"{np.mean(v):.1%}" for v in accuracies.values()]
    assert [t for t in texts if t in means] == means  # each bar's own accuracy, once
    assert [t for t in texts if t.startswith("talk ")] == ["talk 87%", "talk 93%", "talk 96%", "talk 98%"]
    assert svg.count('aria-roledescription="circle"') == 6  # a dot per run


def test_live_chart_as_drawn_labels_earlier_runs_and_hides_an_absent_validation():
    earlier = [("mlp-raw 89%", final_accuracy_rows(0.89)), ("mlp-relu 96%", final_accuracy_rows(0.96))]
    _, accuracy = charts.live_specs(final_accuracy_rows(0.98, 2), 5, earlier=earlier, validation=False)
    svg = rendered_svg(accuracy)
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert texts.count("mlp-raw 89%") == 1 and texts.count("mlp-relu 96%") == 1
    assert "validation" not in texts and "training" not in texts  # one series needs no legend
    assert svg.count('aria-roledescription="line mark"') >= 3  # two earlier runs and the live one


def test_a_charts_height_is_its_plots_not_shared_with_axes_and_legends():
    """Streamlit's default autosize squeezes axes and legends into `height` (an 86 px plot
    of a 280 px chart); the builders fit only the width, so the drawing is taller."""
    frame = pd.DataFrame(
        {
            "run": "a",
            "preset": "cnn",
            "epoch": [1, 2],
            "metric": "loss",
            "split": "training",
            "value": [1.0, 0.5],
        }
    )
    specs = [
        *charts.live_specs(final_accuracy_rows(0.9), 5),
        charts.probability_spec([0.1] * 10, 0),
        charts.curve_chart(frame, "loss").to_dict(),
        charts.staircase_chart(stairs_of({"cnn": [0.98]})).to_dict(),
    ]
    for spec in specs:
        assert spec["autosize"] == {"type": "fit-x", "contains": "padding"}
        svg = rendered_svg({**spec, "width": 600})  # Streamlit sets the container's width
        drawn = float(re.search(r'<svg[^>]* height="([\d.]+)"', svg).group(1))
        assert drawn > spec["height"] + 20  # the plot's height, then its axis below


def test_live_chart_draws_only_layers_with_rows():
    """An empty layer makes Vega warn in the browser's console ("Infinite extent")."""

    def marks(spec):
        return [(layer["mark"]["type"], json.dumps(layer["transform"])) for layer in spec["layer"]]

    _, empty = charts.live_specs([], 5)
    assert len(marks(empty)) == 1 and "training" in marks(empty)[0][1]
    assert empty["encoding"]["y"]["scale"]["domain"] == [0.0, 1.0]
    validated = final_accuracy_rows(0.9, 1) + [
        {"epoch": 1.0, "metric": "accuracy", "split": "validation", "value": 0.88}
    ]
    loss, accuracy = charts.live_specs(validated, 5, earlier=[("before", final_accuracy_rows(0.8))])
    assert len(accuracy["layer"]) == 4  # earlier runs, their labels, training, validation
    assert len(loss["layer"]) == 3  # no validation loss yet
    low, high = loss["encoding"]["y"]["scale"]["domain"]
    assert loss["encoding"]["y"]["scale"]["type"] == "log"
    values = [v["value"] for v in loss["data"]["values"] if v["metric"] == "loss"]
    assert 0 < low < min(values) and high > max(values)


def test_rdm_image_is_rgb_of_the_same_size():
    image = charts.rdm_image(rsa.rdm(np.random.default_rng(0).normal(size=(20, 9))))
    assert image.shape == (20, 20, 3) and image.dtype == np.uint8
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 10
    ideal = charts.rdm_image(rsa.category_rdm(np.repeat(np.arange(3), 4)))
    assert len(np.unique(ideal.reshape(-1, 3), axis=0)) == 2  # ties share a colour
    np.testing.assert_array_equal(ideal[0, 1], ideal[0, 0])
