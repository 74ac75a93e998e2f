"""Occlusion sensitivity (Zeiler & Fergus 2014): which part of a drawing the prediction needs.

A grey-free patch (MNIST's black background) is slid over the 28×28 image one pixel at a
time; each occluded copy is classified, all of them in one batched call. A pixel's value
on the map is the mean drop in the probability of the class the network predicts for the
whole image, over every patch position that covers it: red where hiding the pixel costs
the network its answer, blue where hiding it makes the network surer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnnlab.architectures import prepare_inputs
from dnnlab.probes import Probe

SIDE = 28
PATCH = 8  # pixels: about a stroke's width and a half either way, a quarter of a digit's box
BACKGROUND = 0.0  # MNIST's background: a patch of it hides whatever was drawn there


@dataclass(frozen=True)
class OcclusionMap:
    """The drop in p(`target`) for each pixel (28×28), and p(`target`) unoccluded."""

    drop: np.ndarray
    target: int
    probability: float


def occluded_copies(image28: np.ndarray, patch: int = PATCH) -> np.ndarray:
    """Every position of a `patch`×`patch` background patch: ((28-patch+1)², 28, 28) images."""
    image28 = np.asarray(image28, dtype=np.float32)
    positions = SIDE - patch + 1
    copies = np.repeat(image28[np.newaxis], positions * positions, axis=0)
    for i in range(positions * positions):
        r, c = divmod(i, positions)
        copies[i, r : r + patch, c : c + patch] = BACKGROUND
    return copies


def occlusion_map(
    probe: Probe, image28: np.ndarray, patch: int = PATCH, target: int | None = None
) -> OcclusionMap:
    """How much hiding each pixel (with its neighbours) lowers p(target); target defaults
    to the class predicted for the whole image."""
    image28 = np.asarray(image28, dtype=np.float32)
    copies = occluded_copies(image28, patch)
    batch = np.concatenate([image28[np.newaxis], copies])
    probabilities = probe.predict(prepare_inputs(probe.spec, batch))  # one call, every position
    whole = probabilities[0]
    target = int(np.argmax(whole)) if target is None else int(target)
    drops = whole[target] - probabilities[1:, target]
    positions = SIDE - patch + 1
    total = np.zeros((SIDE, SIDE), np.float64)
    covered = np.zeros((SIDE, SIDE), np.float64)
    for i, drop in enumerate(drops):
        r, c = divmod(i, positions)
        total[r : r + patch, c : c + patch] += drop
        covered[r : r + patch, c : c + patch] += 1
    return OcclusionMap(
        drop=(total / covered).astype(np.float32), target=target, probability=float(whole[target])
    )
