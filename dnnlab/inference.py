"""From a drawing or a photo to the ten probabilities.

`dnnlab.preprocess.prepare` makes the 28×28 image a network trained on MNIST reads;
here it goes through the network as one sample, in a traced graph (`Probe.predict_one`),
never through `model.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dnnlab.architectures import ModelSpec, prepare_inputs
from dnnlab.preprocess import prepare
from dnnlab.probes import probe


def predict_prepared(model, spec: ModelSpec, image28: np.ndarray) -> np.ndarray:
    """The ten probabilities for one prepared 28×28 image."""
    return probe(model, spec).predict_one(prepare_inputs(spec, np.asarray(image28)[np.newaxis]))


def predict(model, spec: ModelSpec, image) -> np.ndarray:
    """The ten probabilities for a raw drawing or photo."""
    return predict_prepared(model, spec, prepare(image))


@dataclass(frozen=True)
class Reading:
    """What a network makes of one image: the 28×28 it saw and its ten probabilities."""

    image28: np.ndarray
    probabilities: np.ndarray

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))


def read_digit(model, spec: ModelSpec, image) -> Reading:
    """Prepare a raw drawing or photo and classify it (raises `images.BlankImageError` if blank)."""
    image28 = prepare(image)
    return Reading(image28, predict_prepared(model, spec, image28))


def read_digit_layers(model, spec: ModelSpec, image) -> tuple[Reading, list[tuple[str, str, np.ndarray]]]:
    """As `read_digit`, with every layer's output (name, type, values) from the same single
    traced call (`Probe.layers_one`): the Draw page's live layers cost no second pass."""
    image28 = prepare(image)
    p = probe(model, spec)
    outputs = p.layers_one(prepare_inputs(spec, np.asarray(image28)[np.newaxis]))
    layers = [(layer.name, type(layer).__name__, out) for layer, out in zip(p.layers, outputs, strict=True)]
    return Reading(image28, np.asarray(outputs[-1], dtype=np.float64)), layers


def enlarged(image28: np.ndarray, scale: int = 8) -> np.ndarray:
    """The 28×28 image as uint8, each pixel a `scale`×`scale` block, so pixels show."""
    block = np.ones((scale, scale), dtype=np.uint8)
    return np.kron(np.clip(image28, 0, 255).astype(np.uint8), block)
