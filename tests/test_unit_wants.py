"""`dnnlab.unit_wants`: each unit's strongest test images, and the images units would draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dnnlab import registry, unit_wants
from dnnlab.architectures import ModelSpec, prepare_inputs
from dnnlab.probes import LOGITS, probe

MODELS = Path(__file__).resolve().parent.parent / "models"


@pytest.fixture(scope="module", params=["mlp-raw", "mlp-relu", "cnn"])
def shipped(request):
    model, meta = registry.load(request.param, directory=MODELS)
    return probe(model, ModelSpec.from_dict(meta["spec"]))


def test_top_images_are_each_units_strongest_responses_in_order(shipped, small_mnist):
    _, (x_test, _) = small_mnist
    images = x_test[:1500]
    for layer, units in unit_wants.unit_layers(shipped).items():
        top = unit_wants.top_images(shipped, images, layer)
        assert top.shape == (units, unit_wants.TOP)
        # Independently: the layer's whole output through the probe's feature extractor.
        out = shipped.features(prepare_inputs(shipped.spec, images), [layer])[layer].reshape(
            len(images), -1, units
        )
        peaks = out.max(axis=1)
        for unit in range(units):
            chosen = peaks[top[unit], unit]
            assert (np.diff(chosen) <= 1e-6).all(), "strongest first"
            others = np.delete(peaks[:, unit], top[unit])
            assert chosen.min() >= others.max() - 1e-5


def test_each_synthesised_class_image_is_read_as_its_class(shipped):
    images = unit_wants.maximise(shipped, LOGITS)
    assert images.shape == (10, 28, 28)
    assert images.min() >= 0 and images.max() <= 255
    assert unit_wants.classify(shipped, images).tolist() == list(range(10))
    assert images.std(axis=(1, 2)).min() > 5, "each image has structure, not a flat field"


def test_a_conv_channels_image_drives_that_channel_more_than_noise_and_the_other_images():
    model, meta = registry.load("cnn", directory=MODELS)
    p = probe(model, ModelSpec.from_dict(meta["spec"]))
    for layer, channels in unit_wants.unit_layers(p).items():
        images = unit_wants.maximise(p, layer)
        assert images.shape == (channels, 28, 28)
        noise = np.random.default_rng(1).uniform(0, 255 * 0.2, (channels, 28, 28)).astype(np.float32)
        x = prepare_inputs(p.spec, np.concatenate([images, noise]))
        out = p.features(x, [layer])[layer].reshape(2 * channels, -1, channels).mean(axis=1)
        own = out[np.arange(channels), np.arange(channels)]
        assert (own > out[channels + np.arange(channels), np.arange(channels)]).all(), "beats noise"
        # Each channel responds more to its own image than to the average of the others'.
        others = (out[:channels].sum(axis=0) - own) / (channels - 1)
        assert (own > others).mean() >= 0.75, layer
