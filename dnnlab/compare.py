"""Models as participants: networks compared with each other the way a lab compares subjects.

- Representations: every layer RDM of every chosen model against every other (one
  `rsatoolbox` comparison of the stacked RDMs), and a classical MDS map of those
  models × layers.
- Behaviour: error consistency, Cohen's κ between two models' right/wrong answers beyond
  what their accuracies alone predict (Geirhos et al. 2020): two 95% classifiers that
  err independently agree on 90.5% of the images by chance, and κ is 0 for them.
- Seeds as a noise ceiling: the same preset trained from different seeds tells how far
  two runs of one network differ; a difference between architectures means something
  only beyond that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from dnnlab import rsa
from dnnlab.architectures import ModelSpec, prepare_inputs
from dnnlab.probes import LOGITS, probe

BETWEEN_SEEDS, BETWEEN_ARCHITECTURES = "between seeds", "between architectures"


def layer_rdms(model, spec: ModelSpec, images: np.ndarray) -> dict[str, np.ndarray]:
    """Stage name → RDM (float32) of every stage after the pixels (`rsa.stages`), for these images."""
    names = rsa.stages(model)[1:]
    features = probe(model, spec).features(prepare_inputs(spec, images), names)
    return {name: rsa.rdm(features[name]).astype(np.float32) for name in names}


def ranks(rdm: np.ndarray) -> np.ndarray:
    """An RDM's upper triangle as ranks (ties averaged): what Spearman's ρ correlates.

    Ranking 124,750 pairs is most of the cost of comparing two 500-image RDMs, so the
    ranks are computed once per RDM and cached with it; a square RDM or its ranks are
    accepted wherever RDMs are compared here.
    """
    from scipy.stats import rankdata

    rdm = np.asarray(rdm, dtype=np.float64)
    if rdm.ndim == 1:
        return rdm
    return rankdata(rdm[np.triu_indices(len(rdm), 1)])


def layer_ranks(rdms: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {stage: ranks(m) for stage, m in rdms.items()}


def spearman_matrix(rdms: list[np.ndarray]) -> np.ndarray:
    """Spearman's ρ of every RDM with every other, in one `rsatoolbox.rdm.compare` call:
    Pearson's r of the ranks, which is what rsatoolbox's own Spearman computes (it would
    rank every RDM again for each call)."""
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    if not rdms:
        return np.zeros((0, 0))
    vectors = np.stack([ranks(m) for m in rdms])
    return np.asarray(rsa_compare(RDMs(vectors), RDMs(vectors), method="corr"))


@dataclass(frozen=True)
class SecondOrder:
    """Every (model, stage) RDM compared with every other: a square similarity matrix."""

    labels: tuple[tuple[str, str], ...]  # (model, stage), models in the order given
    similarity: np.ndarray

    def frame(self) -> pd.DataFrame:
        """Long form for a heat map: row, column (each 'model · stage'), similarity."""
        names = [f"{m} · {s}" for m, s in self.labels]
        i, j = np.divmod(np.arange(len(names) ** 2), len(names))
        return pd.DataFrame(
            {"row": np.array(names)[i], "column": np.array(names)[j], "similarity": self.similarity.ravel()}
        )

    def map(self) -> pd.DataFrame:
        """Classical MDS of the dissimilarities 1 − similarity: model, stage, depth, x, y."""
        xy = classical_mds(1 - self.similarity)
        rows, depth, last = [], 0, None
        for (model, stage), (x, y) in zip(self.labels, xy, strict=True):
            depth = depth + 1 if model == last else 0
            last = model
            rows.append({"model": model, "stage": stage, "depth": depth, "x": x, "y": y})
        return pd.DataFrame(rows)


def second_order(rdms: Mapping[str, Mapping[str, np.ndarray]]) -> SecondOrder:
    """model → (stage → RDM or its `ranks`), all on the same images → every RDM against
    every other by Spearman's ρ."""
    labels = tuple((model, stage) for model, stages in rdms.items() for stage in stages)
    return SecondOrder(labels, spearman_matrix([rdms[m][s] for m, s in labels]))


def classical_mds(dissimilarity: np.ndarray, dims: int = 2) -> np.ndarray:
    """Torgerson's classical MDS: N×`dims` coordinates whose distances approximate the
    dissimilarities (the top eigenvectors of the double-centred squared matrix)."""
    d = np.asarray(dissimilarity, dtype=np.float64)
    n = len(d)
    if n == 0:
        return np.zeros((0, dims))
    centre = np.eye(n) - 1 / n
    gram = -0.5 * centre @ (d**2) @ centre
    values, vectors = np.linalg.eigh((gram + gram.T) / 2)
    top = np.argsort(values)[::-1][:dims]
    coords = vectors[:, top] * np.sqrt(np.clip(values[top], 0, None))
    if coords.shape[1] < dims:  # fewer points than dimensions
        coords = np.pad(coords, ((0, 0), (0, dims - coords.shape[1])))
    return coords


# --- behaviour ---------------------------------------------------------------------------


def correct_answers(mistake_indices: np.ndarray, total: int) -> np.ndarray:
    """A boolean vector over `total` images: False at the misclassified ones."""
    correct = np.ones(total, dtype=bool)
    correct[np.asarray(mistake_indices, dtype=np.int64)] = False
    return correct


def error_consistency(correct_a: np.ndarray, correct_b: np.ndarray) -> float:
    """Cohen's κ of two observers' right/wrong answers on the same trials.

    κ = (c_obs − c_exp) / (1 − c_exp), with c_obs the share of trials both got right or
    both got wrong, and c_exp = p_a·p_b + (1 − p_a)(1 − p_b) the share expected from their
    accuracies p alone. NaN when chance already explains everything (c_exp = 1).
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"need two equal-length answer vectors, not {a.shape} and {b.shape}")
    observed = float(np.mean(a == b))
    pa, pb = float(a.mean()), float(b.mean())
    expected = pa * pb + (1 - pa) * (1 - pb)
    return float("nan") if expected >= 1 else (observed - expected) / (1 - expected)


def kappa_matrix(correct: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Error consistency of every pair of models (square, NaN on the diagonal)."""
    names = list(correct)
    matrix = pd.DataFrame(np.nan, index=names, columns=names)
    for a, b in combinations(names, 2):
        matrix.loc[a, b] = matrix.loc[b, a] = error_consistency(correct[a], correct[b])
    return matrix


@dataclass(frozen=True)
class SharedErrors:
    everyone: np.ndarray  # indices of the images every chosen model gets wrong
    only_mlps: np.ndarray  # every MLP wrong, every convolutional network right


def shared_errors(correct: Mapping[str, np.ndarray], is_conv: Mapping[str, bool]) -> SharedErrors:
    """The images all models get wrong, and those only the MLPs get wrong (empty when the
    choice has no MLP or no convolutional network)."""
    answers = np.array([correct[n] for n in correct], dtype=bool).reshape(len(correct), -1)
    everyone = np.flatnonzero(~answers.any(axis=0)) if len(correct) else np.zeros(0, np.int64)
    mlps = [i for i, n in enumerate(correct) if not is_conv[n]]
    convs = [i for i, n in enumerate(correct) if is_conv[n]]
    if not mlps or not convs:
        return SharedErrors(everyone, np.zeros(0, np.int64))
    only = ~answers[mlps].any(axis=0) & answers[convs].all(axis=0)
    return SharedErrors(everyone, np.flatnonzero(only))


# --- seeds as a noise ceiling ---------------------------------------------------------------


def pairs(matrix: pd.DataFrame, groups: Mapping[str, str]) -> pd.DataFrame:
    """Every pair of models in a square similarity `matrix`: a, b, their groups (presets),
    kind (between seeds of one preset, or between architectures) and the similarity."""
    rows = []
    for a, b in combinations(matrix.index, 2):
        ga, gb = groups[a], groups[b]
        kind = BETWEEN_SEEDS if ga == gb else BETWEEN_ARCHITECTURES
        rows.append(
            {"a": a, "b": b, "group_a": ga, "group_b": gb, "kind": kind, "similarity": matrix.loc[a, b]}
        )
    return pd.DataFrame(rows, columns=["a", "b", "group_a", "group_b", "kind", "similarity"])


def group_means(pair_table: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Mean similarity of each pair of groups (long form: row, column, similarity, pairs);
    the diagonal is between seeds of one preset, the rest between architectures."""
    rows = []
    for r in order:
        for c in order:
            chosen = pair_table[
                ((pair_table["group_a"] == r) & (pair_table["group_b"] == c))
                | ((pair_table["group_a"] == c) & (pair_table["group_b"] == r))
            ]["similarity"].dropna()
            rows.append({"row": r, "column": c, "similarity": chosen.mean(), "pairs": len(chosen)})
    return pd.DataFrame(rows)


def output_rsa_matrix(rdms: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """One RDM (or its `ranks`) per model, say each model's logits → their Spearman's ρ."""
    names = list(rdms)
    return pd.DataFrame(spearman_matrix([rdms[n] for n in names]), index=names, columns=names)


COMMON_STAGE = LOGITS  # every network here ends in a Dense layer, so every one has logits
