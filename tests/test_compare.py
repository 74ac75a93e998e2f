"""dnnlab.compare: models compared with each other like participants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dnnlab import compare, registry, rsa
from dnnlab.architectures import ModelSpec

T, F = True, False


# --- error consistency ----------------------------------------------------------------------


def test_kappa_of_a_hand_computed_case():
    # Agree on 3 of 4 trials (c_obs = 0.75); accuracies 0.75 and 0.5 predict
    # c_exp = 0.75·0.5 + 0.25·0.5 = 0.5, so κ = (0.75 − 0.5) / (1 − 0.5) = 0.5.
    assert compare.error_consistency([T, T, T, F], [T, T, F, F]) == pytest.approx(0.5)


def test_kappa_is_one_for_the_same_errors_zero_for_chance_and_minus_one_for_opposites():
    a = np.array([T, F, T, T, F, T])
    assert compare.error_consistency(a, a) == pytest.approx(1.0)
    assert compare.error_consistency([T, T, F, F], [T, F, T, F]) == pytest.approx(0.0)
    half = np.array([T, F, T, F])  # opposites reach −1 only at 50% accuracy each
    assert compare.error_consistency(half, ~half) == pytest.approx(-1.0)


def test_kappa_is_undefined_when_chance_explains_everything_and_rejects_unequal_answers():
    assert np.isnan(compare.error_consistency([T, T, T], [T, T, T]))
    with pytest.raises(ValueError, match="equal-length"):
        compare.error_consistency([T, F], [T, F, T])


def test_kappa_matrix_is_symmetric_with_a_blank_diagonal():
    correct = {"a": [T, T, T, F], "b": [T, T, F, F], "c": [T, F, T, F]}
    matrix = compare.kappa_matrix(correct)
    assert list(matrix.index) == list(matrix.columns) == ["a", "b", "c"]
    assert np.isnan(np.diag(matrix.to_numpy())).all()
    assert matrix.loc["a", "b"] == matrix.loc["b", "a"] == pytest.approx(0.5)
    assert matrix.loc["b", "c"] == pytest.approx(compare.error_consistency(correct["b"], correct["c"]))


def test_correct_answers_and_shared_errors():
    assert compare.correct_answers(np.array([1, 3]), 5).tolist() == [T, F, T, F, T]
    correct = {
        "mlp-a": np.array([F, F, T, F, T]),
        "mlp-b": np.array([F, F, T, T, T]),
        "cnn": np.array([F, T, T, T, F]),
    }
    shared = compare.shared_errors(correct, {"mlp-a": False, "mlp-b": False, "cnn": True})
    assert shared.everyone.tolist() == [0]
    assert shared.only_mlps.tolist() == [1]  # image 3: one MLP right; image 4: the CNN wrong
    only_mlps = compare.shared_errors({k: correct[k] for k in ("mlp-a", "mlp-b")}, {"mlp-a": F, "mlp-b": F})
    assert only_mlps.everyone.tolist() == [0, 1] and only_mlps.only_mlps.size == 0  # no CNN to contrast


# --- seeds as a noise ceiling ---------------------------------------------------------------


def test_pairs_and_group_means_split_seeds_from_architectures():
    names = ["a", "a-seed1", "b", "b-seed1"]
    similarity = pd.DataFrame(
        [[1.0, 0.9, 0.5, 0.4], [0.9, 1.0, 0.6, 0.3], [0.5, 0.6, 1.0, 0.8], [0.4, 0.3, 0.8, 1.0]],
        index=names,
        columns=names,
    )
    groups = {"a": "A", "a-seed1": "A", "b": "B", "b-seed1": "B"}
    pairs = compare.pairs(similarity, groups)
    assert len(pairs) == 6
    by_kind = pairs.groupby("kind")["similarity"].mean()
    assert by_kind[compare.BETWEEN_SEEDS] == pytest.approx((0.9 + 0.8) / 2)
    assert by_kind[compare.BETWEEN_ARCHITECTURES] == pytest.approx((0.5 + 0.4 + 0.6 + 0.3) / 4)
    means = compare.group_means(pairs, ["A", "B"]).set_index(["row", "column"])
    assert means.loc[("A", "A"), "similarity"] == pytest.approx(0.9)
    assert means.loc[("A", "B"), "similarity"] == means.loc[("B", "A"), "similarity"] == pytest.approx(0.45)
    assert means.loc[("A", "B"), "pairs"] == 4


# --- representations ------------------------------------------------------------------------


def test_classical_mds_recovers_points_in_the_plane():
    points = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0], [1.0, 1.0], [-2.0, 0.5]])
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    xy = compare.classical_mds(distances)
    assert xy.shape == (5, 2)
    np.testing.assert_allclose(np.linalg.norm(xy[:, None] - xy[None], axis=-1), distances, atol=1e-9)


@pytest.fixture(scope="module")
def shipped_rdms(small_mnist):
    """Layer RDMs of two shipped models on 100 test images (10 of each digit)."""
    _, (x, y) = small_mnist
    sample = rsa.rsa_sample(y, per_class=10, seed=0)
    found = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DNNLAB_MODELS", raising=False)
        for name in ("mlp-relu", "cnn"):
            model, meta = registry.load(name)
            found[name] = compare.layer_rdms(model, ModelSpec.from_dict(meta["spec"]), x[sample])
            assert list(found[name]) == rsa.stages(model)[1:]
    return found


def test_a_model_compared_with_itself_scores_one(shipped_rdms):
    twice = {"cnn": shipped_rdms["cnn"], "cnn again": shipped_rdms["cnn"]}
    second = compare.second_order(twice)
    n = len(shipped_rdms["cnn"])
    np.testing.assert_allclose(np.diag(second.similarity), 1.0, atol=1e-9)
    np.testing.assert_allclose(np.diag(second.similarity[:n, n:]), 1.0, atol=1e-9)  # each layer with its copy


def test_second_order_holds_each_pair_of_layers_and_maps_every_one(shipped_rdms):
    second = compare.second_order(shipped_rdms)
    labels = [(m, s) for m in shipped_rdms for s in shipped_rdms[m]]
    assert list(second.labels) == labels
    np.testing.assert_allclose(second.similarity, second.similarity.T, atol=1e-9)
    i, j = labels.index(("mlp-relu", "logits")), labels.index(("cnn", "logits"))
    expected = rsa.compare_rdms(shipped_rdms["mlp-relu"]["logits"], shipped_rdms["cnn"]["logits"])
    assert second.similarity[i, j] == pytest.approx(expected, abs=1e-6)
    frame = second.frame()
    assert len(frame) == len(labels) ** 2
    assert set(frame["row"]) == {f"{m} · {s}" for m, s in labels}
    points = second.map()
    assert list(zip(points["model"], points["stage"], strict=True)) == labels
    assert points.groupby("model")["depth"].apply(list).to_dict() == {
        m: list(range(len(shipped_rdms[m]))) for m in shipped_rdms
    }
    assert np.isfinite(points[["x", "y"]].to_numpy()).all()


def test_output_rsa_matrix_compares_the_common_stage(shipped_rdms):
    logits = {n: r[compare.COMMON_STAGE] for n, r in shipped_rdms.items()}
    matrix = compare.output_rsa_matrix(logits)
    np.testing.assert_allclose(np.diag(matrix.to_numpy()), 1.0, atol=1e-9)
    assert matrix.loc["cnn", "mlp-relu"] == pytest.approx(rsa.compare_rdms(logits["cnn"], logits["mlp-relu"]))


def test_cached_ranks_compare_as_the_rdms_do(shipped_rdms):
    from_rdms = compare.second_order(shipped_rdms).similarity
    from_ranks = compare.second_order({m: compare.layer_ranks(r) for m, r in shipped_rdms.items()}).similarity
    np.testing.assert_allclose(from_ranks, from_rdms, atol=1e-12)
