"""`dnnlab.probes`: every way of running a network layer by layer agrees with Keras's own call."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dnnlab import probes
from dnnlab.architectures import PRESETS, ModelSpec, build_model, prepare_inputs, preset_spec


@pytest.fixture(scope="module", params=["mlp-relu", "cnn", "mlp-relu+skip", "cnn+skip"])
def network(request, small_mnist):
    preset, _, skip = request.param.partition("+")
    spec = dataclasses.replace(preset_spec(preset), skip=bool(skip))
    model = build_model(spec)
    _, (x_test, _) = small_mnist
    return model, spec, prepare_inputs(spec, x_test[:300])


def test_one_probe_per_model():
    spec = PRESETS["mlp-raw"].spec
    model = build_model(spec)
    assert probes.probe(model, spec) is probes.probe(model, spec)
    assert probes.probe(build_model(spec), spec) is not probes.probe(model, spec)


def test_features_are_the_layers_outputs_and_the_logits_are_before_the_softmax(network):
    model, spec, x = network
    last = model.layers[-1].name
    # A network with skip connections is a functional model: its first layer is its input.
    first = next(layer for layer in model.layers if type(layer).__name__ != "InputLayer")
    features = probes.probe(model, spec).features(x, [first.name, probes.LOGITS, last], batch_size=128)
    expected = np.asarray(model(x, training=False))
    np.testing.assert_allclose(features[last], expected, atol=1e-6)
    logits = features[probes.LOGITS]
    softmax = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(softmax / softmax.sum(axis=1, keepdims=True), expected, atol=1e-5)
    first_output = np.asarray(first(x, training=False))
    np.testing.assert_allclose(features[first.name], first_output.reshape(len(x), -1), atol=1e-5)
    with pytest.raises(ValueError, match="no layer named"):
        probes.probe(model, spec).features(x, ["nope"])


def test_predictions_single_masked_and_split_agree_with_the_model(network):
    model, spec, x = network
    probe = probes.probe(model, spec)
    expected = np.asarray(model(x, training=False))
    np.testing.assert_allclose(probe.predict(x, batch_size=128), expected, atol=1e-6)
    np.testing.assert_allclose(probe.predict_one(x[:1]), expected[0], atol=1e-6)
    for layer, units in probe.lesionable.items():  # in a skip network, a shortcut may pass the cut
        mask = np.ones(units, np.float32)
        mask[0] = 0.0
        head, tail = probe.split_at(layer)
        split = np.asarray(tail(head(x), mask))
        np.testing.assert_allclose(split, probe.predict(x, {layer: mask}), atol=1e-6, err_msg=layer)
    with pytest.raises(ValueError, match="cannot mask"):
        probe.predict(x, {model.layers[-1].name: np.ones(10)})


def test_unit_responses_are_means_and_peaks_over_space(small_mnist):
    spec = ModelSpec(activation="relu", conv_filters=(4,), dense_units=(6,))
    model = build_model(spec)
    _, (x_test, _) = small_mnist
    x = prepare_inputs(spec, x_test[:50])
    means, peaks = probes.probe(model, spec).unit_responses(x)
    conv = np.asarray(model.layers[0](x, training=False))  # (50, 26, 26, 4)
    np.testing.assert_allclose(means[0], conv.mean(axis=(1, 2)), atol=1e-5)
    np.testing.assert_allclose(peaks[0], np.abs(conv).max(axis=(1, 2)), atol=1e-5)
    assert [m.shape for m in means] == [(50, 4), (50, 6), (50, 10)]
