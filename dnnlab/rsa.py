"""Representational similarity analysis (RSA), read against its ceiling.

Kriegeskorte's recipe with `rsatoolbox`, the field's RSA library: a representational
dissimilarity matrix (RDM) holds 1 − Pearson correlation between the activation patterns
of every pair of images, and two RDMs are compared by a rank correlation of their upper
triangles (Spearman's ρ, or Kendall's τ-a, which handles tied dissimilarities).

A binary category RDM (0 within a digit, 1 between digits) is mostly ties, so no RDM can
correlate perfectly with it: with 10 classes × 50 images only 9.8% of the pairs are
within-class, and even a perfect RDM (every within-class pair closer than every
between-class pair) reaches a Spearman ρ of about 0.52. Each stage is therefore shown
beside that ceiling, computed for the actual stimuli, and with a bootstrap 95% interval
over stimuli (resampled within each class).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnnlab.architectures import ModelSpec, num_classes, prepare_inputs
from dnnlab.probes import LOGITS, probe

# Layers whose output is a representation worth comparing; Flatten, Dropout, Reshape and
# the augmentation layers pass their input on unchanged at test time.
ANALYSED_LAYERS = frozenset({"Dense", "Conv2D", "MaxPooling2D"})
METHODS = {"spearman": "Spearman's ρ", "tau-a": "Kendall's τ-a", "rho-a": "Spearman's ρ-a"}
RESAMPLES = 20  # bootstrap resamples of the stimuli: one stacked comparison each
PIXELS, CATEGORY = "pixels", "digit category"


def analysed_layers(model) -> list[str]:
    """Names of the layers whose activations are representations (in order)."""
    return [layer.name for layer in model.layers if type(layer).__name__ in ANALYSED_LAYERS]


def stages(model) -> list[str]:
    """What is compared, in order: the pixels, each analysed layer, with the output
    layer's logits (before its softmax) just before the output itself."""
    layers = analysed_layers(model)
    output = model.layers[-1]
    if layers and layers[-1] == output.name and type(output).__name__ == "Dense":
        return [PIXELS, *layers[:-1], LOGITS, layers[-1]]
    return [PIXELS, *layers]


def rsa_sample(labels: np.ndarray, per_class: int = 50, seed: int = 0) -> np.ndarray:
    """Indices of a fixed, class-balanced sample, ordered by class (0s first)."""
    rng = np.random.default_rng(seed)
    picks = []
    for c in range(num_classes):
        members = np.flatnonzero(np.asarray(labels) == c)
        if len(members) < per_class:
            raise ValueError(f"only {len(members)} images of digit {c}; need {per_class} per class")
        picks.append(np.sort(rng.choice(members, per_class, replace=False)))
    return np.concatenate(picks)


def rdm(patterns: np.ndarray) -> np.ndarray:
    """The RDM (1 − Pearson correlation) of N patterns (N×features), via rsatoolbox.

    A pattern with no variance (say, every ReLU of a layer silent for one image) has no
    defined correlation: it is counted as uncorrelated (dissimilarity 1) with the others.
    """
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    patterns = np.asarray(patterns, dtype=np.float64).reshape(len(patterns), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = calc_rdm(Dataset(patterns), method="correlation").get_matrices()[0]
    matrix = np.nan_to_num(matrix, nan=1.0)
    matrix = (matrix + matrix.T) / 2  # exact symmetry despite rounding
    np.fill_diagonal(matrix, 0.0)
    return matrix


def category_rdm(labels: np.ndarray) -> np.ndarray:
    """The ideal category RDM: 0 between images of the same digit, 1 between digits."""
    labels = np.asarray(labels)
    return (labels[:, None] != labels[None, :]).astype(np.float64)


def perfect_rdm(labels: np.ndarray) -> np.ndarray:
    """A best possible RDM for these stimuli: no ties, and every within-class pair less
    dissimilar than every between-class pair. Its score against `category_rdm` is the
    ceiling of any RDM's (all such RDMs have the same ranks where it matters)."""
    n = len(labels)
    upper = np.triu_indices(n, 1)
    steps = np.zeros((n, n))
    steps[upper] = np.arange(len(upper[0])) / (2 * len(upper[0]))  # distinct, all < 0.5
    return category_rdm(labels) + steps + steps.T


def compare(rdms: list[np.ndarray], references: list[np.ndarray], method: str = "spearman") -> np.ndarray:
    """Every RDM against every reference RDM: one `rsatoolbox.rdm.compare` call on the
    stacked matrices (NaN marks pairs to leave out, the same in all). Shape (len(rdms),
    len(references))."""
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.rdm import compare as rsa_compare

    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}, not {method!r}")
    shapes = {m.shape for m in [*rdms, *references]}
    if len(shapes) != 1:
        raise ValueError(f"RDMs of different sizes: {sorted(shapes)}")
    return rsa_compare(RDMs(np.stack(rdms)), RDMs(np.stack(references)), method=method)


def compare_rdms(a: np.ndarray, b: np.ndarray, method: str = "spearman") -> float:
    """The rank correlation of two RDMs' upper triangles."""
    return float(compare([a], [b], method)[0, 0])


def category_ceiling(labels: np.ndarray, method: str = "spearman") -> float:
    """The highest score any RDM of these stimuli can get against the category RDM."""
    return compare_rdms(perfect_rdm(labels), category_rdm(labels), method)


def _resample(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Stimulus indices drawn with replacement within each class (the class sizes kept)."""
    return np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), (labels == c).sum()) for c in np.unique(labels)]
    )


def _scores(rdms: list[np.ndarray], labels: np.ndarray, method: str, picks: np.ndarray | None = None):
    """(vs pixels, vs category, ceiling) of every RDM on the stimuli `picks` (all if None).

    A stimulus drawn twice is one image: the pairs of its copies are left out.
    """
    references = [rdms[0], category_rdm(labels)]
    candidates = [*rdms, perfect_rdm(labels)]
    if picks is not None:
        same = picks[:, None] == picks[None, :]
        np.fill_diagonal(same, False)

        def pick(m):
            sub = m[np.ix_(picks, picks)]
            sub[same] = np.nan
            return sub

        references, candidates = [pick(m) for m in references], [pick(m) for m in candidates]
    table = compare(candidates, references, method)
    return table[:-1, 0], table[:-1, 1], table[-1, 1]


@dataclass(frozen=True)
class RsaResult:
    """RDMs of the pixels and of each stage, and how each relates to pixels and digits.

    `*_low`/`*_high` bound the bootstrap 95% interval over stimuli (resampled within each
    class); `ceiling` is the score a perfect RDM gets against the category RDM on these
    stimuli.
    """

    labels: np.ndarray
    names: tuple[str, ...]  # 'pixels', then the stages in order
    rdms: tuple[np.ndarray, ...]
    method: str
    vs_pixels: tuple[float, ...]
    vs_category: tuple[float, ...]
    ceiling: float
    pixels_low: tuple[float, ...]
    pixels_high: tuple[float, ...]
    category_low: tuple[float, ...]
    category_high: tuple[float, ...]
    resamples: int

    @property
    def of_ceiling(self) -> tuple[float, ...]:
        """Each stage's category score as a share of the ceiling."""
        return tuple(c / self.ceiling for c in self.vs_category)

    def table(self) -> pd.DataFrame:
        """Long form for a chart: stage, depth, compared_with, score, low, high, ceiling,
        of_ceiling (the score over the ceiling; pixels are their own ceiling, 1)."""
        rows = []
        for depth, name in enumerate(self.names):
            for compared_with, score, low, high, ceiling in (
                (PIXELS, self.vs_pixels, self.pixels_low, self.pixels_high, 1.0),
                (CATEGORY, self.vs_category, self.category_low, self.category_high, self.ceiling),
            ):
                rows.append(
                    {
                        "stage": name,
                        "depth": depth,
                        "compared_with": compared_with,
                        "score": score[depth],
                        "low": low[depth],
                        "high": high[depth],
                        "ceiling": ceiling,
                        "of_ceiling": score[depth] / ceiling,
                    }
                )
        return pd.DataFrame(rows)


def representational_similarity(
    model,
    spec: ModelSpec,
    images: np.ndarray,
    labels: np.ndarray,
    method: str = "spearman",
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> RsaResult:
    """RDMs of the pixels and every stage for these images, compared by `method`, with
    bootstrap intervals from `resamples` stratified resamples of the images."""
    labels = np.asarray(labels)
    names = stages(model)
    features = probe(model, spec).features(prepare_inputs(spec, images), names[1:])
    rdms = [rdm(np.asarray(images).reshape(len(images), -1)), *(rdm(features[n]) for n in names[1:])]
    vs_pixels, vs_category, ceiling = _scores(rdms, labels, method)
    rng = np.random.default_rng(seed)
    boot = [_scores(rdms, labels, method, _resample(labels, rng)) for _ in range(resamples)]
    pixels = np.array([b[0] for b in boot]).reshape(resamples, len(rdms))
    # Leaving out the pairs of a stimulus drawn twice lowers the share of within-class
    # pairs, and with it the ceiling: a resample's category scores are read as shares of
    # its own ceiling, then put on the full sample's scale.
    shares = np.array([b[1] / b[2] for b in boot]).reshape(resamples, len(rdms))

    def bounds(samples, q, scale=1.0):
        if not resamples:
            return tuple(np.full(len(rdms), np.nan))
        return tuple(scale * np.percentile(samples, q, axis=0))

    return RsaResult(
        labels=labels,
        names=tuple(names),
        rdms=tuple(rdms),
        method=method,
        vs_pixels=tuple(vs_pixels),
        vs_category=tuple(vs_category),
        ceiling=float(ceiling),
        pixels_low=bounds(pixels, 2.5),
        pixels_high=bounds(pixels, 97.5),
        category_low=bounds(shares, 2.5, ceiling),
        category_high=bounds(shares, 97.5, ceiling),
        resamples=resamples,
    )
