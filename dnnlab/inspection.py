"""A look inside a network: its layer table, weights, tuning and dead units.

What a neurophysiologist would record from a brain, recorded from a Keras model: the
receptive fields of the first layer (its weights), each unit's mean response to each
digit class over the test set (its tuning), and the units that never fire at all.
Plain numbers here, from `dnnlab.probes` (which also gives one image's activations);
`dnnlab.charts` draws them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from dnnlab.architectures import num_classes, prepare_inputs, summary_rows
from dnnlab.probes import Probe

INPUT_SOURCES = frozenset({"index", "class", "drawing"})
TUNING_BATCH = 1000

# --- the layer table and diagram ---------------------------------------------------


def summary_table(model):
    """The layer table in the columns `model.summary()` prints, as a DataFrame."""
    import pandas as pd

    rows = summary_rows(model)
    return pd.DataFrame(
        {
            "Layer (type)": [f"{r['layer']} ({r['type']})" for r in rows],
            "Output Shape": [r["output_shape"] for r in rows],
            "Param #": [r["params"] for r in rows],
        }
    )


def param_totals(model) -> dict[str, int]:
    """Total, trainable and non-trainable parameter counts, as Keras reports them."""
    total = int(model.count_params())
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return {"total": total, "trainable": trainable, "non_trainable": total - trainable}


def totals_text(model) -> str:
    t = param_totals(model)
    return (
        f"Total params: {t['total']:,} · Trainable params: {t['trainable']:,} · "
        f"Non-trainable params: {t['non_trainable']:,}"
    )


# --- first-layer weights --------------------------------------------------------------


def _layers_of(model, kind: str) -> list:
    return [layer for layer in model.layers if type(layer).__name__ == kind]


def dense_weight_images(model) -> np.ndarray:
    """Each first hidden unit's 784 input weights as a 28×28 image: shape (units, 28, 28)."""
    dense = _layers_of(model, "Dense")
    if not dense or dense[0].kernel.shape[0] != 784:
        raise ValueError("this model has no Dense layer reading the 784 pixels (is it a CNN?)")
    kernel = dense[0].kernel.numpy()  # (784, units)
    return kernel.T.reshape(-1, 28, 28)


def conv_filters(model) -> list[tuple[str, np.ndarray]]:
    """Each Conv2D layer's kernels as (name, array of shape (filters, in_channels, k, k))."""
    return [
        (layer.name, np.transpose(layer.kernel.numpy(), (3, 2, 0, 1)))
        for layer in _layers_of(model, "Conv2D")
    ]


# --- which image to show ------------------------------------------------------------


@dataclass(frozen=True)
class InputChoice:
    """Which image to show the network: a test digit by index or class, or the drawing."""

    source: str = "class"
    index: int = 0
    digit: int = 0
    nth: int = 0

    def __post_init__(self):
        if self.source not in INPUT_SOURCES:
            raise ValueError(f"source must be one of {sorted(INPUT_SOURCES)}, not {self.source!r}")

    def resolve(self, x_test, y_test, drawing=None) -> tuple[np.ndarray | None, str]:
        """(28×28 float32 image 0-255, description); the image is None if there is none."""
        if self.source == "drawing":
            if drawing is None:
                return None, "No drawing yet: draw a digit on the **Draw** page, then come back."
            image = np.asarray(drawing, dtype=np.float32)
            if image.shape != (28, 28):
                raise ValueError(f"the drawing must be a 28×28 array, got shape {image.shape}")
            return image, "your last drawing"
        if self.source == "index":
            if not 0 <= self.index < len(x_test):
                raise ValueError(f"index must be between 0 and {len(x_test) - 1}, not {self.index}")
            i = self.index
        else:
            of_class = np.flatnonzero(np.asarray(y_test) == self.digit)
            if len(of_class) == 0:
                raise ValueError(f"no test image of digit {self.digit}")
            i = int(of_class[self.nth % len(of_class)])
        return np.asarray(x_test[i], dtype=np.float32), f"test image #{i} (a {int(y_test[i])})"


# --- tuning curves and dead units -------------------------------------------------------


def _responses(probe: Probe, images: np.ndarray, batch_size: int) -> Iterator[tuple[slice, list, list]]:
    """(which images, means, peaks) of every unit layer, batch by batch (see
    `Probe.unit_responses`). The last batch is padded: one batch shape, one compiled graph."""
    for start in range(0, len(images), batch_size):
        x = prepare_inputs(probe.spec, images[start : start + batch_size])
        n = len(x)
        if n < batch_size:
            x = np.concatenate([x, np.zeros((batch_size - n, *x.shape[1:]), x.dtype)])
        means, peaks = probe.unit_responses(x)
        yield slice(start, start + n), [m[:n] for m in means], [p[:n] for p in peaks]


def tuning_matrices(
    probe: Probe, images: np.ndarray, labels: np.ndarray, batch_size: int = TUNING_BATCH
) -> dict[str, np.ndarray]:
    """Each unit's mean response to each digit class: {layer name: (units, 10) array}.

    Feature maps are averaged over space first, so a convolution layer has one unit per
    channel. The images are run in batches, summed per class, then divided by the counts.
    """
    labels = np.asarray(labels).astype(int)
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    if counts.min() == 0:
        raise ValueError(f"every digit class needs at least one image; counts are {counts.tolist()}")
    sums = None
    for batch, means, _ in _responses(probe, images, batch_size):
        onehot = np.eye(num_classes)[labels[batch]]  # (n, 10)
        batch_sums = [onehot.T @ m.astype(np.float64) for m in means]  # (10, units)
        sums = batch_sums if sums is None else [s + b for s, b in zip(sums, batch_sums, strict=True)]
    return {
        layer.name: (s / counts[:, None]).T.astype(np.float32)
        for layer, s in zip(probe.unit_layers, sums, strict=True)
    }


def dead_units(probe: Probe, images: np.ndarray, batch_size: int = TUNING_BATCH) -> dict[str, list[int]]:
    """The hidden units (or channels) that never fire: output exactly 0 for every image,
    everywhere in its feature map. {lesionable layer name: their indices}, every layer listed.

    Run on the training set: such a unit (a ReLU whose weighted sum is never positive)
    carries nothing onward, so silencing it changes nothing.
    """
    peak = None
    for _, _, peaks in _responses(probe, images, batch_size):
        batch_peak = [p.max(axis=0) for p in peaks]
        peak = (
            batch_peak if peak is None else [np.maximum(a, b) for a, b in zip(peak, batch_peak, strict=True)]
        )
    found = {layer.name: p for layer, p in zip(probe.unit_layers, peak or [], strict=True)}
    return {name: np.flatnonzero(found[name] == 0).tolist() for name in probe.lesionable}


def dead_units_text(dead: dict[str, list[int]], images: int) -> str:
    """One line for the page: which units never fire on `images` digits, or that none is dead."""
    found = {layer: units for layer, units in dead.items() if units}
    if not found:
        return f"Every hidden unit fires on some of the {images:,} training digits: no dead units."
    parts = [
        f"{layer}: unit{'s' if len(units) > 1 else ''} {', '.join(map(str, units))}"
        for layer, units in found.items()
    ]
    return (
        f"Dead units, which never fire on any of the {images:,} training digits (silencing them "
        f"changes nothing): {'; '.join(parts)}."
    )
