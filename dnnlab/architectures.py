"""Network specifications, the talk's four presets, and the Keras models they build.

A `ModelSpec` is plain data (frozen, hashable, JSON-friendly): the Train page builds
one from its widgets, the registry saves it beside the weights, and `build_model`
turns it into a Keras model written the keras-io way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

num_classes = 10
image_shape = (28, 28)

ACTIVATIONS = frozenset({"linear", "relu", "tanh", "sigmoid"})


@dataclass(frozen=True)
class ModelSpec:
    """What a network looks like and how its input is scaled.

    An empty `conv_filters` makes a multi-layer perceptron on the 784 flattened pixels;
    otherwise the image keeps its 28×28×1 shape and passes through Conv2D + MaxPooling2D
    blocks before the dense layers.
    """

    rescale: bool = True
    activation: str = "relu"
    dense_units: tuple[int, ...] = (16, 16)
    conv_filters: tuple[int, ...] = ()
    kernel_size: int = 3
    pool_size: int = 2
    # The talk's "things to consider" when scaling up.
    dropout: float = 0.0
    batch_norm: bool = False
    l2: float = 0.0
    augment: bool = False

    def __post_init__(self):
        # Tuples keep the spec hashable even when built from JSON lists.
        object.__setattr__(self, "dense_units", tuple(int(u) for u in self.dense_units))
        object.__setattr__(self, "conv_filters", tuple(int(f) for f in self.conv_filters))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, not {self.activation!r}")
        if any(u < 1 or u > 4096 for u in self.dense_units):
            raise ValueError(f"dense_units must be between 1 and 4096, got {self.dense_units}")
        if any(f < 1 or f > 256 for f in self.conv_filters):
            raise ValueError(f"conv_filters must be between 1 and 256, got {self.conv_filters}")
        if len(self.conv_filters) > 3:
            raise ValueError("at most 3 convolution blocks fit a 28×28 image")
        if self.kernel_size not in (3, 5):
            raise ValueError(f"kernel_size must be 3 or 5, not {self.kernel_size}")
        if self.pool_size not in (1, 2):
            raise ValueError(f"pool_size must be 1 (no pooling) or 2, not {self.pool_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")
        if not 0.0 <= self.l2 <= 1.0:
            raise ValueError(f"l2 must be in [0, 1], not {self.l2}")
        side = 28
        for _ in self.conv_filters:
            side = (side - self.kernel_size + 1) // self.pool_size
            if side < 1:
                raise ValueError("too many convolution blocks for this kernel and pooling size")

    @property
    def is_conv(self) -> bool:
        return bool(self.conv_filters)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (28, 28, 1) if self.is_conv else (784,)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["dense_units"] = list(self.dense_units)
        d["conv_filters"] = list(self.conv_filters)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ModelSpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown spec fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    spec: ModelSpec
    talk_accuracy: float
    description: str = field(default="", compare=False)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "mlp-raw",
            "MLP, raw pixels",
            ModelSpec(rescale=False, activation="linear"),
            0.87,
            "784 → 16 → 16 → 10 on raw 0-255 pixels, no activation function.",
        ),
        Preset(
            "mlp-rescaled",
            "MLP, rescaled pixels",
            ModelSpec(rescale=True, activation="linear"),
            0.93,
            "The same network on pixels rescaled to 0-1.",
        ),
        Preset(
            "mlp-relu",
            "MLP with ReLU",
            ModelSpec(rescale=True, activation="relu"),
            0.96,
            "The same with a ReLU non-linearity on both hidden layers.",
        ),
        Preset(
            "cnn",
            "Small CNN",
            # The talk's CNN has no activation on its convolutions: max pooling is its
            # only non-linearity (its training log fits this network, not a ReLU one).
            ModelSpec(rescale=True, activation="linear", dense_units=(), conv_filters=(8, 8)),
            0.98,
            "Two linear 3×3 convolutions with 8 filters, each followed by 2×2 max pooling.",
        ),
    ]
}


def preset_spec(name: str) -> ModelSpec:
    """The spec of a preset, or a ValueError listing the presets."""
    try:
        return PRESETS[name].spec
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def preset_of(spec: ModelSpec) -> str | None:
    """The preset name a spec equals, if any."""
    return next((p.name for p in PRESETS.values() if p.spec == spec), None)


def scale_pixels(spec: ModelSpec, pixels: np.ndarray) -> np.ndarray:
    """uint8 pixel values as this network's inputs: float32, in [0, 1] when it rescales."""
    x = np.asarray(pixels, dtype="float32")
    if spec.rescale:
        x = x / 255.0  # Scale images to the [0, 1] range
    return x


def prepare_inputs(spec: ModelSpec, images: np.ndarray) -> np.ndarray:
    """Scale and shape uint8 images (N×28×28) the way this network was trained."""
    return scale_pixels(spec, images).reshape((-1, *spec.input_shape))


class _L2(float):
    """An L2 weight penalty, written as Keras code in `keras_code`."""

    def __repr__(self):
        return f"keras.regularizers.L2({float(self)!r})"


def layer_plan(spec: ModelSpec) -> list[tuple[str, tuple, dict]]:
    """The layers after the Input, as (keras.layers class name, args, kwargs).

    `build_model` and `keras_code` both read this list, so the code shown to a user
    builds exactly the model that was trained.
    """
    reg = {"kernel_regularizer": _L2(spec.l2)} if spec.l2 else {}

    def hidden(cls: str, args: tuple, kwargs: dict) -> list:
        block = [(cls, args, {**kwargs, "activation": spec.activation, **reg})]
        if spec.batch_norm:
            block.append(("BatchNormalization", (), {}))
        if spec.dropout:
            block.append(("Dropout", (spec.dropout,), {}))
        return block

    plan: list = []
    if spec.augment:
        # Small random shifts and rotations, active only while training.
        if not spec.is_conv:
            plan.append(("Reshape", ((28, 28, 1),), {}))
        plan += [("RandomTranslation", (0.1, 0.1), {}), ("RandomRotation", (0.05,), {})]
        if not spec.is_conv:
            plan.append(("Flatten", (), {}))
    kernel = (spec.kernel_size, spec.kernel_size)
    for filters in spec.conv_filters:
        plan += hidden("Conv2D", (filters,), {"kernel_size": kernel})
        if spec.pool_size > 1:
            plan.append(("MaxPooling2D", (), {"pool_size": (spec.pool_size, spec.pool_size)}))
    if spec.is_conv:
        plan.append(("Flatten", (), {}))
    for units in spec.dense_units:
        plan += hidden("Dense", (units,), {})
    plan.append(("Dense", (num_classes,), {"activation": "softmax"}))
    return plan


def build_model(spec: ModelSpec):
    """The Keras model of a spec (not compiled)."""
    import keras
    from keras import layers

    def make(cls: str, args: tuple, kwargs: dict):
        kwargs = {k: keras.regularizers.L2(float(v)) if isinstance(v, _L2) else v for k, v in kwargs.items()}
        return getattr(layers, cls)(*args, **kwargs)

    return keras.Sequential(
        [keras.Input(shape=spec.input_shape)] + [make(*step) for step in layer_plan(spec)]
    )


def compile_model(model, learning_rate: float = 1e-3, steps_per_execution: int = 1):
    """Compile as in the talk: Adam, sparse categorical cross-entropy, accuracy.

    `steps_per_execution` > 1 runs several batches per call into TensorFlow; it is the
    same training, with less per-batch Python overhead (5 times faster for the MLPs).
    """
    import keras

    model.compile(
        loss="sparse_categorical_crossentropy",
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    return model


def count_params(spec: ModelSpec) -> int:
    return build_model(spec).count_params()


def summary_rows(model) -> list[dict]:
    """The layer table as `model.summary()` prints it: one row per layer."""
    rows = []
    for layer in model.layers:
        shape = tuple(layer.output.shape)
        rows.append(
            {
                "layer": layer.name,
                "type": type(layer).__name__,
                "output_shape": "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")",
                "params": layer.count_params(),
            }
        )
    return rows


def summary_text(model) -> str:
    """The layer table as plain text, in the columns Keras prints."""
    rows = summary_rows(model)
    lines = [f"{'Layer (type)':<34}{'Output Shape':<24}{'Param #':>10}", "─" * 68]
    for r in rows:
        lines.append(f"{r['layer'] + ' (' + r['type'] + ')':<34}{r['output_shape']:<24}{r['params']:>10,}")
    total = model.count_params()
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    lines += [
        "─" * 68,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(lines)
