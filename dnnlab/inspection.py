"""A look inside a network: its layer table, weights, activations and tuning.

What a neurophysiologist would record from a brain, recorded from a Keras model: the
receptive fields of the first layer (its weights), the responses of every layer to one
image (its activations), and each unit's mean response to each digit class over the
test set (its tuning). Plain numbers here; `dnnlab.charts` draws them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from dnnlab.architectures import ModelSpec, num_classes, prepare_inputs, summary_rows

# Layers whose outputs are "units" a neurophysiologist would record from.
UNIT_LAYERS = frozenset({"Conv2D", "Dense"})
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


# --- activations for one input --------------------------------------------------------


class Probe:
    """A model with a twin that returns every layer's output, built once per model.

    `activations(x)` calls the functional probe directly (no `predict` for one sample);
    `unit_means(x)` returns, for every Conv2D/Dense layer, each unit's response with
    feature maps averaged over space, inside one traced TensorFlow graph.
    """

    __slots__ = ("model", "spec", "layers", "_probe", "_means", "_means_fn", "_lock")

    def __init__(self, model, spec: ModelSpec):
        import keras

        self.model = model
        self.spec = spec
        self.layers = list(model.layers)
        inputs = model.inputs[0]
        self._probe = keras.Model(inputs, [layer.output for layer in self.layers])
        unit_outputs = []
        for layer in self.unit_layers:
            out = layer.output
            unit_outputs.append(keras.ops.mean(out, axis=(1, 2)) if len(out.shape) == 4 else out)
        self._means = keras.Model(inputs, unit_outputs)
        self._means_fn = None
        self._lock = threading.Lock()

    @property
    def unit_layers(self) -> list:
        return [layer for layer in self.layers if type(layer).__name__ in UNIT_LAYERS]

    def activations(self, images28: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
        """(name, type, output without the batch axis) of every layer, for one 28×28 image."""
        x = prepare_inputs(self.spec, np.asarray(images28, dtype=np.float32)[np.newaxis])
        outputs = self._probe(x, training=False)
        return [
            (layer.name, type(layer).__name__, out.numpy()[0])
            for layer, out in zip(self.layers, outputs, strict=True)
        ]

    def unit_means(self, x: np.ndarray) -> list[np.ndarray]:
        """Per-unit responses (batch, units) of every Conv2D/Dense layer for prepared inputs.

        A convolutional graph is compiled with XLA, which runs these small convolutions
        2-10 times faster on a CPU than TensorFlow's own kernels (compiling costs more than
        it saves for an MLP); a plain graph is the fallback.
        """
        with self._lock:
            if self._means_fn is None:
                self._means_fn = self._compile(jit=self.spec.is_conv)
            try:
                outputs = self._means_fn(x)
            except Exception:  # XLA unavailable on this platform: the plain graph
                self._means_fn = self._compile(jit=False)
                outputs = self._means_fn(x)
        return [o.numpy() for o in outputs]

    def _compile(self, jit: bool):
        import tensorflow as tf

        return tf.function(
            lambda batch: self._means(batch, training=False),
            input_signature=[tf.TensorSpec((None, *self.spec.input_shape), tf.float32)],
            jit_compile=jit,
        )


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


# --- tuning curves --------------------------------------------------------------------


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
    for start in range(0, len(images), batch_size):
        x = prepare_inputs(probe.spec, images[start : start + batch_size])
        n = len(x)
        if n < batch_size:  # pad the last batch: one batch shape, one compiled graph
            x = np.concatenate([x, np.zeros((batch_size - n, *x.shape[1:]), x.dtype)])
        onehot = np.eye(num_classes)[labels[start : start + n]]  # (n, 10)
        batch_sums = [onehot.T @ r[:n].astype(np.float64) for r in probe.unit_means(x)]  # (10, units)
        sums = batch_sums if sums is None else [s + b for s, b in zip(sums, batch_sums, strict=True)]
    return {
        layer.name: (s / counts[:, None]).T.astype(np.float32)
        for layer, s in zip(probe.unit_layers, sums, strict=True)
    }
