"""Lesions: silence units (Dense) or channels (Conv2D) of a layer and see what breaks.

A silenced unit's output is multiplied by 0 during the forward pass (`Probe.predict`),
whatever its activation function; the model itself is never changed.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dnnlab.architectures import ModelSpec, num_classes, prepare_inputs
from dnnlab.errors import ErrorReport, error_report, predict, report
from dnnlab.probes import BATCH_SIZE, lesionable_layers, probe

__all__ = ["LesionResult", "lesion", "lesion_mask", "lesionable_layers", "single_unit_lesions"]


def lesion_mask(units_in_layer: int, silenced: Collection[int]) -> np.ndarray:
    """A vector of ones with zeros at the silenced units."""
    bad = [u for u in silenced if not 0 <= int(u) < units_in_layer]
    if bad:
        raise ValueError(f"units {bad} out of range: this layer has units 0-{units_in_layer - 1}")
    mask = np.ones(units_in_layer, dtype="float32")
    mask[list(map(int, silenced))] = 0.0
    return mask


@dataclass(frozen=True)
class LesionResult:
    layer: str
    silenced: tuple[int, ...]
    intact: ErrorReport
    lesioned: ErrorReport

    @property
    def drop(self) -> float:
        return self.intact.accuracy - self.lesioned.accuracy

    def per_class(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "digit": np.arange(num_classes),
                "intact": self.intact.per_class,
                "lesioned": self.lesioned.per_class,
            }
        )


def _units(model, layer: str) -> int:
    sizes = lesionable_layers(model)
    if layer not in sizes:
        raise ValueError(f"cannot lesion {layer!r}; choose one of {sorted(sizes)}")
    return sizes[layer]


def lesion(
    model,
    spec: ModelSpec,
    images: np.ndarray,
    labels: np.ndarray,
    layer: str,
    silenced: Collection[int],
    intact: ErrorReport | None = None,
) -> LesionResult:
    """Test accuracy with some units (Dense) or channels (Conv2D) of a layer silenced."""
    mask = lesion_mask(_units(model, layer), silenced)
    silenced = tuple(sorted({int(u) for u in silenced}))
    intact = intact or error_report(model, spec, images, labels)
    lesioned = report(predict(model, spec, images, masks={layer: mask}), labels)
    return LesionResult(layer, silenced, intact, lesioned)


def single_unit_lesions(
    model, spec: ModelSpec, images: np.ndarray, labels: np.ndarray, layer: str
) -> pd.DataFrame:
    """Test accuracy with each unit of a layer silenced alone: unit, accuracy.

    The layers up to the lesioned one run once per batch; only the rest runs per unit.
    """
    units = _units(model, layer)
    head, tail = probe(model, spec).split_at(layer)
    masks = [lesion_mask(units, [unit]) for unit in range(units)]
    x, labels = prepare_inputs(spec, images), np.asarray(labels)
    correct = np.zeros(units)
    for start in range(0, len(x), BATCH_SIZE):
        h, y = head(x[start : start + BATCH_SIZE]), labels[start : start + BATCH_SIZE]
        for unit, mask in enumerate(masks):
            correct[unit] += int((np.asarray(tail(h, mask)).argmax(axis=1) == y).sum())
    return pd.DataFrame({"unit": np.arange(units), "accuracy": correct / max(len(x), 1)})
