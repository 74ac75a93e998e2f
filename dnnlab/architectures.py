"""The Keras models a `ModelSpec` builds, written the keras-io way, and their inputs.

A `ModelSpec` is plain data (see `dnnlab.config`, which also holds the talk's presets):
the Train page builds one from its widgets, the registry saves it beside the weights,
and `build_model` turns it into a Keras model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

# Re-exported: most code reads a spec next to the model it builds.
from dnnlab.config import PRESETS as PRESETS
from dnnlab.config import ModelSpec as ModelSpec
from dnnlab.config import preset_of as preset_of
from dnnlab.config import preset_spec as preset_spec

num_classes = 10
image_shape = (28, 28)


def scale_pixels(spec: ModelSpec, pixels: np.ndarray) -> np.ndarray:
    """uint8 pixel values as this network's inputs: float32, in [0, 1] when it rescales."""
    x = np.asarray(pixels, dtype="float32")
    if spec.rescale:
        x = x / 255.0  # Scale images to the [0, 1] range
    return x


def prepare_inputs(spec: ModelSpec, images: np.ndarray) -> np.ndarray:
    """Scale and shape uint8 images (N×28×28) the way this network was trained."""
    return scale_pixels(spec, images).reshape((-1, *spec.input_shape))


@dataclass(frozen=True)
class L2Penalty:
    """An L2 weight penalty: `build_model` makes it a Keras regularizer, `keras_code`
    writes it as the code that makes one."""

    factor: float

    def build(self):
        import keras

        return keras.regularizers.L2(self.factor)

    def __repr__(self):
        return f"keras.regularizers.L2({self.factor!r})"


class Layer(NamedTuple):
    """One `keras.layers` call: the class name and its arguments."""

    kind: str
    args: tuple = ()
    kwargs: Mapping[str, Any] = MappingProxyType({})


class Residual(NamedTuple):
    """A skip connection: `Add()([shortcut(x), body(x)])`, the shortcut empty for identity."""

    body: tuple[Layer, ...]
    shortcut: tuple[Layer, ...] = ()


def graph_plan(spec: ModelSpec) -> list[Layer | Residual]:
    """The layers after the Input, in order, a `Residual` wherever a skip connection adds
    a block's input to its output.

    `build_model` and `keras_code` both read this list, so the code shown to a user
    builds exactly the model that was trained.

    Skip connections (`spec.skip`) go round each convolution and each dense layer after
    the first, before batch norm, dropout and pooling. Identity where the shapes agree;
    where they differ, the cheapest projection that makes them agree: a valid
    convolution shrinks the image by kernel−1 pixels, so the shortcut takes the centre
    crop (the pixels the kernel is centred on) and a bias-free 1×1 convolution when the
    number of channels changes (1 → 8 costs 8 weights); a dense layer whose width
    changes gets a bias-free linear Dense. The first dense layer has none: a projection
    from the 784 pixels (or the flattened maps) would cost as many weights as the layer.
    """
    penalty = {"kernel_regularizer": L2Penalty(spec.l2)} if spec.l2 else {}

    def hidden(kind: str, args: tuple, kwargs: dict, shortcut: tuple | None) -> list:
        layer = Layer(kind, args, {**kwargs, "activation": spec.activation, **penalty})
        block: list = [layer if shortcut is None else Residual((layer,), shortcut)]
        if spec.batch_norm:
            block.append(Layer("BatchNormalization"))
        if spec.dropout:
            block.append(Layer("Dropout", (spec.dropout,)))
        return block

    plan: list = []
    if spec.augment:
        # Small random shifts and rotations, active only while training.
        if not spec.is_conv:
            plan.append(Layer("Reshape", ((28, 28, 1),)))
        plan += [Layer("RandomTranslation", (0.1, 0.1)), Layer("RandomRotation", (0.05,))]
        if not spec.is_conv:
            plan.append(Layer("Flatten"))
    kernel = (spec.kernel_size, spec.kernel_size)
    channels = 1
    for filters in spec.conv_filters:
        shortcut = None
        if spec.skip:
            shortcut = (Layer("Cropping2D", (spec.kernel_size // 2,)),)
            if filters != channels:
                shortcut += (Layer("Conv2D", (filters,), {"kernel_size": (1, 1), "use_bias": False}),)
        plan += hidden("Conv2D", (filters,), {"kernel_size": kernel}, shortcut)
        channels = filters
        if spec.pool_size > 1:
            plan.append(Layer("MaxPooling2D", (), {"pool_size": (spec.pool_size, spec.pool_size)}))
    if spec.is_conv:
        plan.append(Layer("Flatten"))
    width = None  # the previous dense layer's, if any
    for units in spec.dense_units:
        shortcut = None
        if spec.skip and width is not None:
            shortcut = () if units == width else (Layer("Dense", (units,), {"use_bias": False}),)
        plan += hidden("Dense", (units,), {}, shortcut)
        width = units
    plan.append(Layer("Dense", (num_classes,), {"activation": "softmax"}))
    return plan


def layer_plan(spec: ModelSpec) -> list[Layer]:
    """Every Keras layer `build_model` makes, in the order it makes them (and Keras lists
    them): a residual block's shortcut, then its body, then its `Add`."""
    flat: list[Layer] = []
    for step in graph_plan(spec):
        if isinstance(step, Residual):
            flat += [*step.shortcut, *step.body, Layer("Add")]
        else:
            flat.append(step)
    return flat


def build_model(spec: ModelSpec):
    """The Keras model of a spec (not compiled): a `Sequential` stack, or with skip
    connections a functional model whose `Add` layers join the two paths."""
    import keras
    from keras import layers

    def make(layer: Layer):
        kwargs = {k: v.build() if isinstance(v, L2Penalty) else v for k, v in layer.kwargs.items()}
        return getattr(layers, layer.kind)(*layer.args, **kwargs)

    plan = graph_plan(spec)
    if not spec.skip:
        return keras.Sequential([keras.Input(shape=spec.input_shape)] + [make(layer) for layer in plan])
    inputs = keras.Input(shape=spec.input_shape)
    x = inputs
    for step in plan:
        if isinstance(step, Residual):
            body, shortcut = x, x
            for layer in step.shortcut:  # made first: Keras lists the Add's first input's path first
                shortcut = make(layer)(shortcut)
            for layer in step.body:
                body = make(layer)(body)
            x = layers.Add()([shortcut, body])
        else:
            x = make(step)(x)
    return keras.Model(inputs, x)


def run_layers(spec: ModelSpec, layers, x, after=None):
    """`x` through a built model's layers (`model.layers`; an InputLayer is passed over),
    wired as `graph_plan` wires them: the layer-by-layer pass that lets `dnnlab.probes`
    change a layer's output (`after(layer, output)`) on its way to the next."""
    remaining = iter(la for la in layers if type(la).__name__ != "InputLayer")

    def call(h):
        layer = next(remaining)
        out = layer(h, training=False)
        return out if after is None else after(layer, out)

    h = x
    for step in graph_plan(spec):
        if isinstance(step, Residual):
            shortcut = h
            for _ in step.shortcut:
                shortcut = call(shortcut)
            for _ in step.body:
                h = call(h)
            h = call([shortcut, h])
        else:
            h = call(h)
    return h


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
    """`model.summary()` as the talk shows it, with the input layer's row first.

    A Sequential model's own summary leaves the input out; the same layers seen as a
    functional model list it, as the talk's Keras did: `input_layer (InputLayer)`,
    `(None, 28, 28, 1)`, 0 params.
    """
    import keras

    lines: list[str] = []
    view = keras.Model(model.inputs, model.outputs, name=model.name)
    view.summary(print_fn=lambda line, line_break=True: lines.append(line))
    return "".join(lines).rstrip("\n")
