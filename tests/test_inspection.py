"""Unit tests of dnnlab.inspection and dnnlab.probes: layer table, weights, activations, tuning,
dead units."""

from __future__ import annotations

import numpy as np
import pytest

from dnnlab import charts, errors, inspection
from dnnlab.architectures import PRESETS, ModelSpec, build_model, prepare_inputs, preset_spec
from dnnlab.probes import Probe


@pytest.fixture(scope="module")
def models():
    """Each preset, untrained: the inspection code reads shapes and weights, not skill."""
    return {name: build_model(preset_spec(name)) for name in PRESETS}


@pytest.fixture(scope="module")
def probes(models):
    return {name: Probe(m, preset_spec(name)) for name, m in models.items()}


@pytest.mark.parametrize(("name", "total"), [("mlp-raw", 13_002), ("mlp-relu", 13_002), ("cnn", 2_674)])
def test_summary_table_matches_keras(models, name, total):
    model = models[name]
    table = inspection.summary_table(model)
    assert list(table.columns) == ["Layer (type)", "Output Shape", "Param #"]
    assert len(table) == len(model.layers)
    assert table["Param #"].sum() == model.count_params() == total
    assert inspection.param_totals(model) == {"total": total, "trainable": total, "non_trainable": 0}
    assert f"Total params: {total:,}" in inspection.totals_text(model)


def test_cnn_summary_rows_are_the_talks(models):
    table = inspection.summary_table(models["cnn"])
    assert table["Output Shape"].tolist() == [
        "(None, 26, 26, 8)",
        "(None, 13, 13, 8)",
        "(None, 11, 11, 8)",
        "(None, 5, 5, 8)",
        "(None, 200)",
        "(None, 10)",
    ]
    assert table["Param #"].tolist() == [80, 0, 584, 0, 0, 2010]
    assert table["Layer (type)"][0].endswith("(Conv2D)")


def test_non_trainable_params_are_counted_apart():
    model = build_model(ModelSpec(batch_norm=True))
    totals = inspection.param_totals(model)
    assert totals["total"] == model.count_params()
    assert totals["non_trainable"] == 2 * (16 + 16)  # moving mean and variance of two BN layers


@pytest.mark.parametrize("name", ["mlp-raw", "mlp-rescaled", "mlp-relu"])
def test_mlp_weights_are_28x28_receptive_fields(models, name):
    model = models[name]
    images = inspection.dense_weight_images(model)
    assert images.shape == (16, 28, 28)
    kernel = model.layers[0].kernel.numpy()
    np.testing.assert_array_equal(images[3].ravel(), kernel[:, 3])  # unit 3's weights, pixel order


def test_cnn_has_3x3_filters_for_both_convolutions(models):
    filters = inspection.conv_filters(models["cnn"])
    assert [(name, k.shape) for name, k in filters] == [
        (models["cnn"].layers[0].name, (8, 1, 3, 3)),
        (models["cnn"].layers[2].name, (8, 8, 3, 3)),
    ]
    kernel = models["cnn"].layers[2].kernel.numpy()  # (3, 3, in, out)
    np.testing.assert_array_equal(filters[1][1][5, 2], kernel[:, :, 2, 5])
    with pytest.raises(ValueError, match="no Dense layer reading the 784 pixels"):
        inspection.dense_weight_images(models["cnn"])


@pytest.mark.parametrize("name", list(PRESETS))
def test_activations_match_the_model(models, probes, mnist, name):
    _, (x_test, _) = mnist
    acts = probes[name].activations(x_test[0])
    model = models[name]
    assert [a[0] for a in acts] == [layer.name for layer in model.layers]
    for (_, _, out), layer in zip(acts, model.layers, strict=True):
        assert out.shape == tuple(layer.output.shape[1:])
    expected = model(prepare_inputs(preset_spec(name), x_test[:1]), training=False).numpy()[0]
    np.testing.assert_allclose(acts[-1][2], expected, rtol=1e-5, atol=1e-6)
    assert acts[-1][2].sum() == pytest.approx(1.0, abs=1e-5)


def test_input_choice_resolves_index_class_and_drawing(mnist):
    _, (x_test, y_test) = mnist
    image, text = inspection.InputChoice("index", index=123).resolve(x_test, y_test)
    np.testing.assert_array_equal(image, x_test[123])
    assert image.dtype == np.float32 and "#123" in text
    image, text = inspection.InputChoice("class", digit=7, nth=2).resolve(x_test, y_test)
    i = int(np.flatnonzero(y_test == 7)[2])
    np.testing.assert_array_equal(image, x_test[i])
    assert f"#{i} (a 7)" in text
    image, text = inspection.InputChoice("drawing").resolve(x_test, y_test, None)
    assert image is None and "Draw" in text
    drawing = np.full((28, 28), 255.0, dtype=np.float32)
    image, _ = inspection.InputChoice("drawing").resolve(x_test, y_test, drawing)
    np.testing.assert_array_equal(image, drawing)
    with pytest.raises(ValueError, match="source must be one of"):
        inspection.InputChoice("webcam")
    with pytest.raises(ValueError, match="between 0 and 9999"):
        inspection.InputChoice("index", index=10_000).resolve(x_test, y_test)
    with pytest.raises(ValueError, match="28×28"):
        inspection.InputChoice("drawing").resolve(x_test, y_test, np.zeros((10, 10)))


@pytest.mark.parametrize(("name", "units"), [("mlp-relu", [16, 16, 10]), ("cnn", [8, 8, 10])])
def test_tuning_matrices_are_units_by_classes(probes, small_mnist, name, units):
    _, (x_test, y_test) = small_mnist
    matrices = inspection.tuning_matrices(probes[name], x_test, y_test, batch_size=300)
    assert [m.shape for m in matrices.values()] == [(u, 10) for u in units]
    # The output layer's tuning is each class's mean probability: columns sum to 1.
    np.testing.assert_allclose(list(matrices.values())[-1].sum(axis=0), 1.0, atol=1e-4)


def test_tuning_is_the_class_mean_of_the_activations(probes, small_mnist):
    """Batched class sums give the same numbers as averaging every image's activations."""
    _, (x_test, y_test) = small_mnist
    x, y = x_test[:500], y_test[:500]
    probe = probes["cnn"]
    matrices = inspection.tuning_matrices(probe, x, y, batch_size=128)
    conv = probe.model.layers[0]
    maps = np.stack([probe.activations(image)[0][2] for image in x[y == 4]])  # (n, 26, 26, 8)
    np.testing.assert_allclose(matrices[conv.name][:, 4], maps.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-6)


def test_tuning_needs_every_class(probes, small_mnist):
    _, (x_test, y_test) = small_mnist
    keep = y_test != 3
    with pytest.raises(ValueError, match="every digit class"):
        inspection.tuning_matrices(probes["mlp-raw"], x_test[keep], y_test[keep])


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec(augment=True, dropout=0.2),
        ModelSpec(batch_norm=True, l2=0.001, dense_units=(32,)),
        ModelSpec(conv_filters=(4, 6, 8), kernel_size=3, pool_size=1, dense_units=(12,), augment=True),
        ModelSpec(conv_filters=(5,), kernel_size=5, activation="tanh", dense_units=()),
    ],
    ids=["mlp-augment-dropout", "mlp-batchnorm", "cnn-3-blocks-no-pool", "cnn-5x5-tanh"],
)
def test_every_part_works_for_other_specs(spec, small_mnist):
    """What the Train page can build, the Model page can show."""
    _, (x_test, y_test) = small_mnist
    model = build_model(spec)
    assert inspection.summary_table(model)["Param #"].sum() == model.count_params()
    svg = charts.diagram_svg(model, spec)
    assert all(f">{layer.name}<" in svg for layer in model.layers)
    pictures = charts.weight_pictures(model)
    assert len(pictures) == max(1, len(spec.conv_filters))
    probe = Probe(model, spec)
    acts = probe.activations(x_test[0])
    expected = model(prepare_inputs(spec, x_test[:1]), training=False).numpy()[0]
    np.testing.assert_allclose(acts[-1][2], expected, rtol=1e-5, atol=1e-6)
    assert len(charts.activation_pictures(acts)) == len(model.layers)
    matrices = inspection.tuning_matrices(probe, x_test[:500], y_test[:500], batch_size=200)
    widths = list(spec.conv_filters) + list(spec.dense_units) + [10]
    assert [m.shape for m in matrices.values()] == [(w, 10) for w in widths]


def test_dead_units_are_the_ones_that_never_fire_and_silencing_them_changes_nothing(small_mnist):
    (x_train, _), (x_test, _) = small_mnist
    spec = ModelSpec(activation="relu", conv_filters=(8,), dense_units=(16,))
    model = build_model(spec)
    conv, dense = model.layers[0], model.layers[3]  # Conv2D, MaxPooling2D, Flatten, Dense, Dense
    assert inspection.dead_units(Probe(model, spec), x_train) == {conv.name: [], dense.name: []}
    # A ReLU whose bias outweighs anything its inputs can add is never positive.
    conv.bias.assign(np.where(np.arange(8) == 6, -1e4, 0.0).astype("float32"))
    dense.bias.assign(np.where(np.isin(np.arange(16), [2, 9]), -1e4, 0.0).astype("float32"))
    probe = Probe(model, spec)
    dead = inspection.dead_units(probe, x_train, batch_size=700)
    assert dead == {conv.name: [6], dense.name: [2, 9]}
    intact = errors.predict(model, spec, x_test[:300])
    silenced = errors.predict(
        model, spec, x_test[:300], masks={dense.name: np.where(np.isin(np.arange(16), [2, 9]), 0, 1)}
    )
    np.testing.assert_array_equal(silenced, intact)
    text = inspection.dead_units_text(dead, len(x_train))
    assert f"{conv.name}: unit 6;" in text and f"{dense.name}: units 2, 9." in text and "2,000" in text
    assert "no dead units" in inspection.dead_units_text({"dense": []}, 10)
