"""Running a network layer by layer: the one home of every way DNN Lab reads a model.

A `Probe` wraps a Keras model (never changing it) and builds, on first use, what each
view needs:

- `features`: the outputs of chosen layers, and the pre-softmax logits, for a batch
  (representational similarity);
- `activations`: every layer's output for one image (the Model page);
- `unit_responses`: each unit's mean and peak response, feature maps reduced over
  space, in one compiled graph (tuning curves, dead units);
- `predict`: class probabilities with units silenced by masks, in one traced graph
  (errors, lesions, re-checking saved models);
- `split_at`: the layers up to one layer, and the rest after a mask (single-unit sweeps;
  with skip connections the whole masked pass);
- `predict_one`, `layers_one`: one sample through a traced graph, its probabilities or
  every layer's output (the Draw page). `model.predict`
  builds a dataset and a loop, tens of milliseconds for one sample; an eager
  `model(x)` dispatches layer by layer (5-7 ms); a traced graph takes ~2 ms.

`probe(model, spec)` gives the one `Probe` of a model, kept as long as the model is.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection, Mapping

import numpy as np

from dnnlab.architectures import ModelSpec, num_classes, prepare_inputs, run_layers

# Layers whose outputs are "units" a neurophysiologist would record from.
UNIT_LAYERS = frozenset({"Conv2D", "Dense"})
LOGITS = "logits"  # the output layer's weighted sums, before its softmax
BATCH_SIZE = 2000

_probes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_probes_lock = threading.Lock()


def probe(model, spec: ModelSpec) -> Probe:
    """The `Probe` of this model object (one per model, built on first use)."""
    with _probes_lock:
        found = _probes.get(model)
        if found is None or found.spec != spec:
            found = _probes[model] = Probe(model, spec)
        return found


def lesionable_layers(model) -> dict[str, int]:
    """Hidden Dense and Conv2D layers (not the output layer) → their number of units."""
    return {
        layer.name: int(layer.output.shape[-1])
        for layer in model.layers[:-1]
        if type(layer).__name__ in UNIT_LAYERS
    }


class Probe:
    """One model's layer-by-layer views; each is built once, on first use, thread-safely."""

    def __init__(self, model, spec: ModelSpec):
        self.model = model
        self.spec = spec
        self.layers = list(model.layers)
        self.unit_layers = [layer for layer in self.layers if type(layer).__name__ in UNIT_LAYERS]
        self.lesionable = lesionable_layers(model)
        self._built: dict = {}
        self._lock = threading.Lock()

    def _once(self, key, build):
        with self._lock:
            if key not in self._built:
                self._built[key] = build()
            return self._built[key]

    def _signature(self, batch: int | None = None):
        import tensorflow as tf

        return tf.TensorSpec((batch, *self.spec.input_shape), tf.float32)

    # --- what each layer computes ----------------------------------------------------

    def _extractor(self):
        import keras

        return keras.Model(self.model.inputs[0], [layer.output for layer in self.layers])

    def activations(self, image28: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
        """(name, type, output without the batch axis) of every layer, for one 28×28 image."""
        x = prepare_inputs(self.spec, np.asarray(image28, dtype=np.float32)[np.newaxis])
        outputs = self._once("extractor", self._extractor)(x, training=False)
        return [
            (layer.name, type(layer).__name__, np.asarray(out)[0])
            for layer, out in zip(self.layers, outputs, strict=True)
        ]

    def features(
        self, x: np.ndarray, names: Collection[str], batch_size: int = BATCH_SIZE
    ) -> dict[str, np.ndarray]:
        """N×features outputs of the named layers (flattened per image) for prepared inputs.

        `LOGITS` names the output layer's weighted sums before its softmax: the softmax
        of a 98% classifier is nearly one-hot, its logits still show which digits look alike.
        """
        known = [layer.name for layer in self.layers]
        unknown = set(names) - {*known, LOGITS}
        if unknown:
            raise ValueError(f"no layer named {sorted(unknown)}; the layers are {known}")
        extractor = self._once("extractor", self._extractor)
        output = self.layers[-1]
        parts: dict[str, list] = {name: [] for name in names}
        for start in range(0, len(x), batch_size):
            batch = x[start : start + batch_size]
            outputs = dict(zip(known, extractor(batch, training=False), strict=True))
            for name in names:
                if name == LOGITS:
                    before = np.asarray(outputs[known[-2]]) if len(known) > 1 else batch
                    a = before.reshape(len(batch), -1) @ output.kernel.numpy() + output.bias.numpy()
                else:
                    a = np.asarray(outputs[name])
                parts[name].append(a.reshape(len(batch), -1))
        return {name: np.concatenate(p) for name, p in parts.items()}

    def unit_responses(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(means, peaks) of every Conv2D/Dense layer's units for prepared inputs.

        Each is a list with one (batch, units) array per unit layer: a unit's mean response
        and its largest absolute response, a feature map reduced over space. A
        convolutional graph is compiled with XLA, which runs these small convolutions 2-10
        times faster on a CPU than TensorFlow's own kernels (compiling costs more than it
        saves for an MLP); a plain graph is the fallback.
        """
        with self._lock:
            function = self._built.get("responses")
            if function is None:
                function = self._built["responses"] = self._responses(jit=self.spec.is_conv)
            try:
                outputs = function(x)
            except Exception:  # XLA unavailable on this platform: the plain graph
                function = self._built["responses"] = self._responses(jit=False)
                outputs = function(x)
        arrays = [np.asarray(o) for o in outputs]
        half = len(arrays) // 2
        return arrays[:half], arrays[half:]

    def _responses(self, jit: bool):
        import keras
        import tensorflow as tf

        means, peaks = [], []
        for layer in self.unit_layers:
            out = layer.output
            space = tuple(range(1, len(out.shape) - 1))
            means.append(keras.ops.mean(out, axis=space) if space else out)
            peaks.append(keras.ops.max(keras.ops.abs(out), axis=space) if space else keras.ops.abs(out))
        graph = keras.Model(self.model.inputs[0], means + peaks)
        return tf.function(
            lambda batch: graph(batch, training=False), input_signature=[self._signature()], jit_compile=jit
        )

    # --- predictions -----------------------------------------------------------------

    def _masked(self):
        """The forward pass with a mask on every lesionable layer, as one `tf.function`:
        3-4 times faster than calling the layers eagerly."""
        import tensorflow as tf

        def run(x, masks):
            masks = dict(zip(self.lesionable, masks, strict=True))
            # Along the spec's wiring, skip connections included.
            return run_layers(
                self.spec, self.layers, x, lambda la, h: h * masks[la.name] if la.name in masks else h
            )

        vectors = [tf.TensorSpec((n,), tf.float32) for n in self.lesionable.values()]
        return tf.function(run, input_signature=[self._signature(), vectors])

    def predict(
        self, x: np.ndarray, masks: Mapping[str, np.ndarray] | None = None, batch_size: int = BATCH_SIZE
    ) -> np.ndarray:
        """Class probabilities (N×10) of prepared inputs, optionally with units silenced.

        Args:
            masks: lesionable layer name → a vector over its units (or channels); the
                layer's output is multiplied by it, so a 0 silences a unit whatever the
                activation function. The model is not changed.
        """
        masks = masks or {}
        unknown = set(masks) - set(self.lesionable)
        if unknown:
            raise ValueError(
                f"cannot mask {sorted(unknown)}; the lesionable layers are {sorted(self.lesionable)}"
            )
        vectors = [
            np.asarray(masks.get(name, np.ones(n)), dtype="float32") for name, n in self.lesionable.items()
        ]
        function = self._once("masked", self._masked)
        parts = [np.asarray(function(x[i : i + batch_size], vectors)) for i in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, num_classes), "float32")

    def split_at(self, layer: str):
        """Two traced functions, `head(x)` and `tail(h, mask)`: the layers up to `layer`,
        and the rest after a mask on its output; `tail(head(x), mask)` is the prediction."""
        if layer not in self.lesionable:
            raise ValueError(f"cannot lesion {layer!r}; choose one of {sorted(self.lesionable)}")
        if self.spec.skip:
            return self._split_skip(layer)
        return self._once(("split", layer), lambda: self._split(layer))

    def _split_skip(self, layer: str):
        """With skip connections a shortcut can carry an earlier output past the cut, so
        no one tensor holds the state there: the head passes the input on, and the tail
        is the masked forward pass (`predict`'s) with only this layer's mask set."""
        masked = self._once("masked", self._masked)
        ones = [np.ones(n, "float32") for n in self.lesionable.values()]
        at = list(self.lesionable).index(layer)

        def tail(x, mask):
            return masked(x, [*ones[:at], np.asarray(mask, "float32"), *ones[at + 1 :]])

        return (lambda x: x), tail

    def _split(self, layer: str):
        import tensorflow as tf

        cut = [la.name for la in self.layers].index(layer) + 1
        head_layers, tail_layers = self.layers[:cut], self.layers[cut:]

        def head(x):
            for la in head_layers:
                x = la(x, training=False)
            return x

        def tail(h, mask):
            h = h * mask
            for la in tail_layers:
                h = la(h, training=False)
            return h

        inner = tuple(self.layers[cut - 1].output.shape[1:])
        mask = tf.TensorSpec((self.lesionable[layer],), tf.float32)
        return (
            tf.function(head, input_signature=[self._signature()]),
            tf.function(tail, input_signature=[tf.TensorSpec((None, *inner), tf.float32), mask]),
        )

    def predict_one(self, x: np.ndarray) -> np.ndarray:
        """The ten probabilities for one prepared input (a batch of 1)."""
        import tensorflow as tf

        def build():
            return tf.function(lambda x: self.model(x, training=False), input_signature=[self._signature(1)])

        return np.asarray(self._once("one", build)(x), dtype=np.float64)[0]

    def layers_one(self, x: np.ndarray) -> list[np.ndarray]:
        """Every layer's output for one prepared input (a batch of 1), in one traced call:
        the last is the ten probabilities. The Draw page's live layers, once per stroke."""
        import tensorflow as tf

        extractor = self._once("extractor", self._extractor)  # outside: `_once` holds a plain lock

        def build():
            return tf.function(lambda x: extractor(x, training=False), input_signature=[self._signature(1)])

        return [np.asarray(out)[0] for out in self._once("layers_one", build)(x)]
