"""`dnnlab.occlusion`: hiding the ink costs the network its answer, hiding the background not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from dnnlab import occlusion, registry
from dnnlab.architectures import ModelSpec
from dnnlab.preprocess import prepare
from dnnlab.probes import probe
from tests.support import digit_paths, render

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture(scope="module", params=["cnn", "mlp-relu"])
def shipped(request):
    model, meta = registry.load(request.param, directory=MODELS)
    return probe(model, ModelSpec.from_dict(meta["spec"]))


def test_every_patch_position_hides_its_square_and_only_it():
    image = np.full((28, 28), 200, np.float32)
    copies = occlusion.occluded_copies(image, patch=8)
    assert copies.shape == (21 * 21, 28, 28)
    assert (
        (copies[0, :8, :8] == 0).all() and (copies[0, 8:, :] == 200).all() and (copies[0, :, 8:] == 200).all()
    )
    assert ((copies == 0).sum(axis=(1, 2)) == 64).all()


def test_occluding_the_ink_of_a_one_lowers_p1_more_than_occluding_the_background(shipped):
    one = prepare(render(digit_paths(1)))
    result = occlusion.occlusion_map(shipped, one)
    assert result.target == 1 and result.probability > 0.5
    assert result.drop.shape == (28, 28)
    ink = one > 128
    # Background no patch over it could reach the ink: 8 or more pixels from any stroke.
    far = ndimage.distance_transform_edt(~ink) >= occlusion.PATCH
    assert far.sum() > 50
    assert np.abs(result.drop[far]).max() < 1e-3, "a patch on empty background changes nothing"
    assert result.drop[ink].mean() > 10 * max(np.abs(result.drop[far]).max(), 1e-3)


def test_the_map_matches_one_occluded_copy_classified_alone(shipped):
    one = prepare(render(digit_paths(1)))
    result = occlusion.occlusion_map(shipped, one, target=1)
    covered_once = occlusion.occluded_copies(one)[0]  # the top-left patch: pixel (0, 0) is under it alone
    alone = shipped.predict_one(
        covered_once.reshape(1, *shipped.spec.input_shape) / (255.0 if shipped.spec.rescale else 1.0)
    )
    assert result.drop[0, 0] == pytest.approx(result.probability - alone[1], abs=1e-4)
