"""The Experiments page's computations: staircase, curves, errors, RSA and lesions."""

from __future__ import annotations

import numpy as np
import pytest

from dnnlab import errors, lesions, registry, rsa, staircase, training
from dnnlab.architectures import ModelSpec


@pytest.fixture(scope="module")
def shipped():
    """Load a shipped model, read-only, from the project's models/ (DNNLAB_MODELS unset)."""
    loaded = {}

    def get(name: str):
        if name not in loaded:
            with pytest.MonkeyPatch.context() as patch:
                patch.delenv("DNNLAB_MODELS", raising=False)
                model, meta = registry.load(name)
            loaded[name] = (model, ModelSpec.from_dict(meta["spec"]), meta)
        return loaded[name]

    return get


@pytest.fixture(scope="module")
def test_set(small_mnist):
    _, (x_test, y_test) = small_mnist
    return x_test, y_test


# --- RDMs -------------------------------------------------------------------------------


def test_rdm_is_symmetric_with_zero_diagonal_and_one_minus_pearson():
    patterns = np.random.default_rng(0).normal(size=(30, 50))
    matrix = rsa.rdm(patterns)
    assert matrix.shape == (30, 30)
    np.testing.assert_array_equal(np.diag(matrix), 0.0)
    np.testing.assert_array_equal(matrix, matrix.T)
    expected = 1 - np.corrcoef(patterns)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(matrix, expected, atol=1e-10)


def test_rdm_counts_a_silent_pattern_as_uncorrelated():
    patterns = np.random.default_rng(1).normal(size=(5, 8))
    patterns[2] = 0.0  # e.g. every ReLU unit silent for one image
    matrix = rsa.rdm(patterns)
    assert np.isfinite(matrix).all()
    np.testing.assert_array_equal(np.delete(matrix[2], 2), 1.0)
    assert matrix[2, 2] == 0.0


def test_category_rdm_and_comparisons():
    labels = np.repeat(np.arange(3), 4)
    ideal = rsa.category_rdm(labels)
    assert ideal[0, 3] == 0 and ideal[0, 4] == 1 and ideal.sum() == 12 * 12 - 3 * 16
    assert rsa.compare_rdms(ideal, ideal) == pytest.approx(1.0)
    noisy = ideal + np.random.default_rng(0).uniform(0, 0.5, ideal.shape)
    noisy = (noisy + noisy.T) / 2
    assert 0.5 < rsa.compare_rdms(noisy, ideal) < 1.0
    assert rsa.compare_rdms(noisy, ideal, "rho-a") > 0.5
    with pytest.raises(ValueError, match="spearman"):
        rsa.compare_rdms(ideal, ideal, "kendall")


def test_rsa_sample_is_fixed_balanced_and_ordered_by_class():
    labels = np.random.default_rng(3).integers(0, 10, 5000)
    sample = rsa.rsa_sample(labels, per_class=50, seed=0)
    assert len(sample) == 500 and len(set(sample)) == 500
    np.testing.assert_array_equal(labels[sample], np.repeat(np.arange(10), 50))
    np.testing.assert_array_equal(sample, rsa.rsa_sample(labels, per_class=50, seed=0))
    assert not np.array_equal(sample, rsa.rsa_sample(labels, per_class=50, seed=1))
    with pytest.raises(ValueError, match="digit"):
        rsa.rsa_sample(labels[:100], per_class=50)


def test_category_structure_rises_from_pixels_to_the_last_layer_of_the_shipped_cnn(shipped, mnist):
    model, spec, _ = shipped("cnn")
    _, (x_test, y_test) = mnist
    sample = rsa.rsa_sample(y_test)
    result = rsa.representational_similarity(model, spec, x_test[sample], y_test[sample])
    assert result.names == (
        "pixels",
        "conv2d",
        "max_pooling2d",
        "conv2d_1",
        "max_pooling2d_1",
        "logits",
        "dense",
    )
    assert result.vs_pixels[0] == pytest.approx(1.0)
    assert result.vs_category[-1] > result.vs_category[0] + 0.1
    assert result.vs_category[-1] == max(result.vs_category)
    assert result.vs_pixels[-1] < result.vs_pixels[1]  # drifting away from the pixels
    assert all(c <= result.ceiling + 1e-12 for c in result.vs_category)
    assert result.of_ceiling[-1] > 0.9, "a 98% classifier's output is near the ceiling, not 'halfway'"
    assert all(lo <= hi for lo, hi in zip(result.category_low, result.category_high, strict=True))
    assert result.category_high[0] < result.category_low[-1], "pixels and output are told apart"
    table = result.table()
    assert len(table) == 2 * len(result.names)
    assert set(table["compared_with"]) == {"pixels", "digit category"}
    category = table[table["compared_with"] == "digit category"]
    assert (category["ceiling"] == result.ceiling).all()
    np.testing.assert_allclose(category["of_ceiling"], np.array(result.vs_category) / result.ceiling)


@pytest.mark.parametrize("method", ["spearman", "tau-a"])
def test_the_ceiling_is_the_score_of_a_perfect_category_rdm_on_the_same_stimuli(method):
    labels = np.repeat(np.arange(10), 12)
    rng = np.random.default_rng(0)
    # A perfect representation: each digit its own direction, a little noise, so every
    # within-class pair is closer than every between-class pair and no two pairs tie.
    patterns = np.eye(10)[labels] * 10 + rng.normal(0, 0.1, (len(labels), 10))
    perfect = rsa.rdm(patterns)
    within, between = perfect[rsa.category_rdm(labels) == 0], perfect[rsa.category_rdm(labels) == 1]
    assert within.max() < between.min()
    ceiling = rsa.category_ceiling(labels, method)
    assert ceiling == pytest.approx(rsa.compare_rdms(perfect, rsa.category_rdm(labels), method), abs=1e-12)
    assert ceiling < 0.6, "a binary category RDM cannot be matched by a graded one"
    shuffled = rsa.rdm(patterns[rng.permutation(len(labels))])
    assert rsa.compare_rdms(shuffled, rsa.category_rdm(labels), method) < ceiling


def test_bootstrap_resamples_within_each_class_and_is_repeatable():
    labels = np.repeat(np.arange(3), [5, 7, 9])
    rng = np.random.default_rng(0)
    picks = rsa._resample(labels, rng)
    np.testing.assert_array_equal(labels[picks], labels)
    assert len(set(picks)) < len(picks), "drawn with replacement"
    patterns = np.random.default_rng(1).normal(size=(len(labels), 6))
    images = (patterns * 40 + 128).clip(0, 255)
    rdms = [rsa.rdm(images), rsa.rdm(patterns)]
    first = rsa._scores(rdms, labels, "spearman", picks)
    again = rsa._scores(rdms, labels, "spearman", rsa._resample(labels, np.random.default_rng(0)))
    np.testing.assert_array_equal(first[1], again[1])


# --- errors -----------------------------------------------------------------------------


def test_confusion_matrix_counts_and_per_class_accuracy():
    y_true = np.array([0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 1, 1, 0])
    matrix = errors.confusion_matrix(y_true, y_pred, n=3)
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    np.testing.assert_allclose(errors.per_class_accuracy(matrix), [0.5, 1.0, 0.0])


def test_mistakes_come_most_confident_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95]])
    table = errors.mistakes(probabilities, np.array([0, 0, 0, 1]))
    assert list(table["index"]) == [1, 2]
    assert list(table["predicted"]) == [1, 1] and list(table["true"]) == [0, 0]
    np.testing.assert_allclose(table["confidence"], [0.8, 0.6])


def test_confusion_matrix_of_the_shipped_cnn_matches_its_accuracy(shipped, mnist):
    model, spec, meta = shipped("cnn")
    _, (x_test, y_test) = mnist
    report = errors.error_report(model, spec, x_test, y_test)
    assert report.total == len(y_test) == 10_000
    _, accuracy = training.evaluate(model, spec, x_test, y_test)
    assert report.accuracy == pytest.approx(accuracy, abs=1e-4)
    assert report.accuracy == pytest.approx(meta["test_accuracy"], abs=1e-4)
    assert len(report.mistakes) == report.total - np.trace(report.confusion)
    assert (np.diff(report.mistakes["confidence"]) <= 0).all()
    frame = report.confusion_frame()
    assert len(frame) == 100 and frame["count"].sum() == 10_000


# --- lesions ----------------------------------------------------------------------------


def test_lesionable_layers_are_the_hidden_dense_and_conv_layers(shipped):
    assert lesions.lesionable_layers(shipped("cnn")[0]) == {"conv2d": 8, "conv2d_1": 8}
    assert lesions.lesionable_layers(shipped("mlp-relu")[0]) == {"dense": 16, "dense_1": 16}


@pytest.mark.parametrize(("name", "layer"), [("cnn", "conv2d"), ("cnn", "conv2d_1"), ("mlp-relu", "dense_1")])
def test_lesioning_every_unit_drops_accuracy_to_chance(shipped, test_set, name, layer):
    model, spec, _ = shipped(name)
    x, y = test_set
    units = lesions.lesionable_layers(model)[layer]
    result = lesions.lesion(model, spec, x, y, layer, range(units))
    assert result.intact.accuracy > 0.9
    assert result.lesioned.accuracy < 0.2  # one class for every image: its share, ~10%
    assert result.drop > 0.7


def test_lesioning_nothing_changes_nothing_and_the_model_is_untouched(shipped, test_set):
    model, spec, _ = shipped("cnn")
    x, y = test_set
    before = [w.copy() for w in model.get_weights()]
    intact = errors.predict(model, spec, x)
    result = lesions.lesion(model, spec, x, y, "conv2d", [])
    np.testing.assert_array_equal(result.lesioned.confusion, result.intact.confusion)
    assert result.drop == 0.0
    partial = lesions.lesion(model, spec, x, y, "conv2d", [0, 3])
    assert partial.silenced == (0, 3) and partial.drop > 0
    for w, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(w, b)
    np.testing.assert_array_equal(errors.predict(model, spec, x), intact)


def test_masked_prediction_matches_the_layer_by_layer_pass(shipped, test_set):
    model, spec, _ = shipped("mlp-relu")
    x, _ = test_set
    mask = lesions.lesion_mask(16, [2, 5, 7])
    traced = errors.predict(model, spec, x[:300], masks={"dense": mask})
    h = x[:300].reshape(-1, 784) / 255.0  # the same pass, by hand, layer by layer
    for layer in model.layers:
        h = np.asarray(layer(h, training=False)) * (mask if layer.name == "dense" else 1.0)
        if layer.name == "dense":
            assert (h[:, [2, 5, 7]] == 0).all() and h.shape == (300, 16)
    np.testing.assert_allclose(traced, h, atol=1e-5)


def test_lesion_refuses_unknown_layers_and_units(shipped, test_set):
    model, spec, _ = shipped("cnn")
    x, y = test_set
    with pytest.raises(ValueError, match="conv2d_1"):
        lesions.lesion(model, spec, x[:10], y[:10], "dense", [0])
    with pytest.raises(ValueError, match="0-7"):
        lesions.lesion(model, spec, x[:10], y[:10], "conv2d", [8])


def test_single_unit_lesions_give_one_accuracy_per_unit(shipped, test_set):
    model, spec, _ = shipped("mlp-relu")
    x, y = test_set
    sweep = lesions.single_unit_lesions(model, spec, x, y, "dense")
    assert list(sweep["unit"]) == list(range(16))
    intact = errors.error_report(model, spec, x, y).accuracy
    assert (sweep["accuracy"] <= intact + 0.01).all() and (sweep["accuracy"] < intact).any()
    one_by_one = [lesions.lesion(model, spec, x, y, "dense", [u]).lesioned.accuracy for u in (0, 9)]
    np.testing.assert_allclose(sweep["accuracy"][[0, 9]], one_by_one)


def test_single_unit_lesions_of_a_conv_channel_match_single_lesions(shipped, test_set):
    model, spec, _ = shipped("cnn")
    x, y = test_set
    sweep = lesions.single_unit_lesions(model, spec, x[:500], y[:500], "conv2d_1")
    assert list(sweep["unit"]) == list(range(8))
    single = lesions.lesion(model, spec, x[:500], y[:500], "conv2d_1", [5]).lesioned.accuracy
    assert sweep["accuracy"][5] == pytest.approx(single)


# --- staircase and curves ---------------------------------------------------------------


def _info(name, preset, accuracy, error=None, history=None):
    meta = {} if error else {"preset": preset, "spec": {}, "test_accuracy": accuracy, "params": 13002}
    if history:
        meta["history"] = history
    return registry.ModelInfo(name, meta, error)


def test_runs_table_and_staircase_follow_the_talks_order_and_keep_broken_models():
    infos = [
        _info("zeta", "cnn", 0.98),
        _info("mine", None, 0.97),
        _info("alpha", "mlp-relu", 0.95),
        _info("broken", None, None, error="broken.json: unreadable metadata"),
        _info("raw", "mlp-raw", 0.88),
        _info("stopped", "mlp-rescaled", float("nan")),
    ]
    table = staircase.runs_table(infos)
    assert list(table["name"]) == ["raw", "stopped", "alpha", "zeta", "mine", "broken"]
    assert list(table["preset"][:5]) == ["mlp-raw", "mlp-rescaled", "mlp-relu", "cnn", "custom"]
    assert table.loc[table["name"] == "broken", "error"].item().startswith("broken.json")
    stairs = staircase.staircase(infos)
    assert list(stairs["name"]) == ["raw", "alpha", "zeta", "mine"]
    assert list(stairs["talk_accuracy"][:3]) == [0.87, 0.96, 0.98] and np.isnan(stairs["talk_accuracy"][3])


def test_learning_curves_in_long_form_with_validation():
    curves = staircase.learning_curves(
        {
            "a": {
                "loss": [1.0, 0.5],
                "accuracy": [0.8, 0.9],
                "val_loss": [1.1, 0.6],
                "val_accuracy": [0.7, 0.85],
            },
            "b": {"loss": [2.0, float("nan")], "accuracy": [0.5, 0.6]},
        }
    )
    assert len(curves) == 8 + 3
    assert set(curves["split"]) == {"training", "validation"}
    row = curves[
        (curves["run"] == "a") & (curves["split"] == "validation") & (curves["metric"] == "accuracy")
    ]
    assert list(row["epoch"]) == [1, 2] and list(row["value"]) == [0.7, 0.85]


def test_spread_gives_each_presets_runs_mean_and_range_in_the_talks_order():
    infos = [
        _info("cnn", "cnn", 0.98),
        _info("cnn-seed1", "cnn", 0.97),
        _info("cnn-seed2", "cnn", 0.99),
        _info("mlp-raw", "mlp-raw", 0.88),
        _info("mine", None, 0.5),
    ]
    table = staircase.spread(staircase.staircase(infos))
    assert list(table["preset"]) == ["mlp-raw", "cnn"], "custom runs are no preset's participants"
    cnn = table.set_index("preset").loc["cnn"]
    assert cnn["runs"] == 3 and cnn["min"] == 0.97 and cnn["max"] == 0.99
    assert cnn["mean"] == pytest.approx(0.98) and cnn["talk_accuracy"] == 0.98
