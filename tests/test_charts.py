"""Unit tests of dnnlab.charts: count the marks, rows and pixels each builder makes."""

from __future__ import annotations

import numpy as np
import pytest

from dnnlab import charts, inspection
from dnnlab.architectures import PRESETS, build_model, preset_spec


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
    probe = inspection.Probe(models["cnn"], preset_spec("cnn"))
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
    svg = charts.diagram_svg(models[name])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    for layer in models[name].layers:
        assert f">{layer.name}<" in svg
    if name == "cnn":
        assert ">8@26×26<" in svg and ">1@28×28<" in svg and ">200<" in svg
    else:
        assert ">784<" in svg and ">16<" in svg


# --- tuning ------------------------------------------------------------------------------


def test_tuning_chart_has_one_heat_map_per_layer(models, small_mnist):
    _, (x_test, y_test) = small_mnist
    probe = inspection.Probe(models["mlp-relu"], preset_spec("mlp-relu"))
    matrices = inspection.tuning_matrices(probe, x_test, y_test)
    spec = charts.tuning_chart(matrices, normalise=True).to_dict()
    assert len(spec["hconcat"]) == 3
    assert all(c["mark"]["type"] == "rect" for c in spec["hconcat"])
    first = spec["datasets"][spec["hconcat"][0]["data"]["name"]]
    assert len(first) == 16 * 10
    assert max(abs(r["mean activation"]) for r in first) == pytest.approx(1.0)  # normalised rows
