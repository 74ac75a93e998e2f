"""`dnnlab.invariance`: the sliders' transformations, and accuracy against shift and rotation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dnnlab import invariance, registry
from dnnlab.architectures import ModelSpec
from dnnlab.probes import probe

MODELS = Path(__file__).resolve().parent.parent / "models"


def dot(row: int, col: int) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[row, col] = 255
    return image


def test_a_shift_moves_the_ink_and_fills_with_background():
    moved = invariance.transform(dot(10, 10), dx=3, dy=-2)
    assert np.argwhere(moved == 255).tolist() == [[8, 13]]
    assert moved.sum() == 255
    gone = invariance.transform(dot(10, 26), dx=4)
    assert gone.sum() == 0, "ink shifted off the edge is gone, not wrapped round"


def test_a_quarter_turn_is_anticlockwise_about_the_centre():
    # Up and to the right of the centre (13.5, 13.5): a quarter turn anticlockwise on the
    # screen takes "up" to "left" and "right" to "up".
    turned = invariance.transform(dot(4, 20), angle=90)
    assert np.unravel_index(np.argmax(turned), turned.shape) == (7, 4)
    assert turned.max() == pytest.approx(255)


def test_scaling_changes_the_ink_by_the_area_and_thickening_spreads_it():
    stroke = np.zeros((28, 28), np.float32)
    stroke[6:22, 12:16] = 255
    for scale in (0.6, 1.4):
        ink = invariance.transform(stroke, scale=scale).sum() / stroke.sum()
        assert ink == pytest.approx(scale**2, rel=0.15), scale
    thick = invariance.transform(stroke, thicken=2)
    assert (thick > 128).sum() > (stroke > 128).sum() * 1.8
    assert thick.max() == 255, "thickening spreads the ink, it does not brighten it"


def test_no_change_leaves_the_drawing_as_it_is():
    image = np.random.default_rng(0).uniform(0, 255, (28, 28)).astype(np.float32)
    np.testing.assert_array_equal(invariance.transform(image), image)


@pytest.fixture(scope="module")
def shipped_probes():
    found = {}
    for name in ("mlp-relu", "cnn"):
        model, meta = registry.load(name, directory=MODELS)
        found[name] = probe(model, ModelSpec.from_dict(meta["spec"]))
    return found


def test_accuracy_falls_with_shift_and_rotation_and_the_cnn_keeps_more(shipped_probes, mnist):
    _, (x_test, y_test) = mnist
    images, labels = x_test[:500], y_test[:500]
    curves = {
        name: invariance.accuracy_curves(p, images, labels, shifts=(-4, 0, 4), angles=(-30, 0, 30))
        for name, p in shipped_probes.items()
    }
    for name, curve in curves.items():
        shift = curve[curve.change == "shift (px)"].set_index("amount").accuracy
        rotation = curve[curve.change == "rotation (°)"].set_index("amount").accuracy
        assert shift[0] == rotation[0] > 0.9, name
        assert shift[0] - max(shift[-4], shift[4]) > 0.1, name
        assert rotation[0] - max(rotation[-30], rotation[30]) > 0.05, name
    cnn, mlp = (
        c[c.change == "shift (px)"].set_index("amount").accuracy for c in (curves["cnn"], curves["mlp-relu"])
    )
    assert cnn[4] + cnn[-4] > mlp[4] + mlp[-4], "the CNN keeps more of its accuracy when digits move"
