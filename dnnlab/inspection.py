"""A look inside a network: its layer table and diagram, weights, activations and tuning.

What a neurophysiologist would record from a brain, recorded from a Keras model: the
receptive fields of the first layer (its weights), the responses of every layer to one
image (its activations), and each unit's mean response to each digit class over the
test set (its tuning). Pictures are plain numpy RGB arrays or Altair charts, so the
Model page only lays them out.
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

# ColorBrewer RdBu, blue for negative and red for positive weights; white is zero.
_DIVERGING = np.array(
    [
        (5, 48, 97),
        (33, 102, 172),
        (67, 147, 195),
        (146, 197, 222),
        (209, 229, 240),
        (247, 247, 247),
        (253, 219, 199),
        (244, 165, 130),
        (214, 96, 77),
        (178, 24, 43),
        (103, 0, 31),
    ],
    dtype=np.float32,
)
# Black to white, as MNIST itself is shown (ink is bright).
_GREYS = np.array([(0, 0, 0), (255, 255, 255)], dtype=np.float32)
_BACKGROUND = (255, 255, 255)


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


_DIAGRAM_COLOURS = {
    "Input": "#d9d9d9",
    "Conv2D": "#9ecae1",
    "MaxPooling2D": "#c6dbef",
    "Dense": "#fdae6b",
    "Output": "#fc8d59",
}


def _shape_label(shape: tuple) -> str:
    if len(shape) == 3:
        h, w, c = shape
        return f"{c}@{h}×{w}"
    return "×".join(str(d) for d in shape)


def diagram_svg(model) -> str:
    """The layers as boxes sized by their output shapes, like NN-SVG's LeNet figure.

    Feature maps (h×w×c) are drawn as c stacked squares of side ∝ h; vectors of n units
    as a bar of height ∝ √n. Above each box its shape, below it the layer's name and type.
    """
    stages = [("input", "Input", tuple(model.inputs[0].shape[1:]))]
    stages += [(layer.name, type(layer).__name__, tuple(layer.output.shape[1:])) for layer in model.layers]
    gap, offset, top_pad, label_h = 34, 5, 26, 40
    boxes = []
    for i, (name, kind, shape) in enumerate(stages):
        if len(shape) == 3:
            side = 12 + 3 * shape[0]
            copies = min(shape[2], 12)
            w, h = side + offset * (copies - 1), side + offset * (copies - 1)
            boxes.append((name, kind, shape, w, h, side, copies))
        else:
            units = int(np.prod(shape))
            bar = min(220.0, 8 * units**0.5)
            boxes.append((name, kind, shape, 16, bar, None, 1))
        if i == len(stages) - 1 and kind == "Dense":
            boxes[-1] = (name, "Output", *boxes[-1][2:])
    height = max(b[4] for b in boxes) + top_pad + label_h + 8
    parts, x = [], 10.0
    mid = top_pad + (height - top_pad - label_h) / 2
    for i, (name, kind, shape, w, h, side, copies) in enumerate(boxes):
        colour = _DIAGRAM_COLOURS.get(kind, "#e5e5e5")
        y0 = mid - h / 2
        if side is None:
            parts.append(
                f'<rect x="{x:.1f}" y="{y0:.1f}" width="{w}" height="{h:.1f}" '
                f'fill="{colour}" stroke="#333" stroke-width="1"/>'
            )
        else:
            for k in range(copies):  # back to front, each one offset down and right
                parts.append(
                    f'<rect x="{x + k * offset:.1f}" y="{y0 + k * offset:.1f}" width="{side}" '
                    f'height="{side}" fill="{colour}" stroke="#333" stroke-width="0.8"/>'
                )
        cx = x + w / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{y0 - 6:.1f}" font-size="11" text-anchor="middle">'
            f"{_shape_label(shape)}</text>"
        )
        label_y = height - label_h + 14
        parts.append(
            f'<text x="{cx:.1f}" y="{label_y:.1f}" font-size="11" text-anchor="middle">{name}</text>'
            f'<text x="{cx:.1f}" y="{label_y + 14:.1f}" font-size="10" fill="#555" '
            f'text-anchor="middle">{kind}</text>'
        )
        if i < len(boxes) - 1:
            ax, bx = x + w + 6, x + max(w + gap, 96) - 8
            parts.append(
                f'<line x1="{ax:.1f}" y1="{mid:.1f}" x2="{bx:.1f}" y2="{mid:.1f}" '
                'stroke="#777" stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
        right = x + max(w, 60)
        x += max(w + gap, 96)  # room for the labels under narrow bars
    width = right + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>'
        + "".join(parts)
        + "</svg>"
    )


# --- pictures from numbers ------------------------------------------------------------


def colourise(values: np.ndarray, vmin: float, vmax: float, diverging: bool) -> np.ndarray:
    """Map values to uint8 RGB with a colour map; NaN becomes the white background."""
    values = np.asarray(values, dtype=np.float32)
    anchors = _DIVERGING if diverging else _GREYS
    span = vmax - vmin if vmax > vmin else 1.0
    t = np.clip((np.nan_to_num(values, nan=vmin) - vmin) / span, 0.0, 1.0) * (len(anchors) - 1)
    low = np.minimum(t.astype(int), len(anchors) - 2)
    frac = (t - low)[..., None]
    rgb = anchors[low] * (1 - frac) + anchors[low + 1] * frac
    rgb[np.isnan(values)] = _BACKGROUND
    return rgb.round().astype(np.uint8)


def montage(images: np.ndarray, columns: int, pad: int = 1) -> np.ndarray:
    """Tile a stack of images (n, h, w) into a grid with NaN gutters."""
    n, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad), np.nan, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = image
    return out


def enlarge(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so pixels stay crisp squares in the browser."""
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


@dataclass(frozen=True)
class Picture:
    """One figure for the page: an RGB image or an Altair chart, with a title and caption."""

    title: str
    caption: str
    image: np.ndarray | None = None
    chart: object = None


def _picture(title, stack, columns, scale, caption, pad=1, diverging=None) -> Picture:
    lo, hi = float(np.min(stack)), float(np.max(stack))
    if diverging is None:
        diverging = lo < 0
    if diverging:
        limit = max(abs(lo), abs(hi)) or 1.0
        vmin, vmax = -limit, limit
        caption += f" Blue negative, red positive, white 0 (range ±{limit:.3g})."
    else:
        vmin, vmax = 0.0, hi or 1.0
        caption += f" Black 0, white {vmax:.3g}."
    grid = montage(stack, columns, pad)
    return Picture(title, caption, image=enlarge(colourise(grid, vmin, vmax, diverging), scale))


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


def weight_pictures(model) -> list[Picture]:
    """The first layer's receptive fields (MLP) or every convolution's filters (CNN)."""
    convs = conv_filters(model)
    if not convs:
        images = dense_weight_images(model)
        name = _layers_of(model, "Dense")[0].name
        return [
            _picture(
                f"{name}: the 784 weights of each of its {len(images)} units",
                images,
                columns=8,
                scale=4,
                caption="Each square is one unit's weights on the 28×28 pixels, its receptive field.",
                pad=2,
                diverging=True,
            )
        ]
    pictures = []
    for name, kernels in convs:
        filters, channels, k, _ = kernels.shape
        if channels == 1:
            caption = f"The {filters} {k}×{k} filters, one per feature map, left to right."
            stack, columns = kernels[:, 0], filters
        else:
            caption = (
                f"One row per filter ({filters}), one column per input channel ({channels}): "
                f"filter f sums the {k}×{k} patches of every input channel, weighted as row f shows."
            )
            stack, columns = kernels.reshape(-1, k, k), channels
        pictures.append(
            _picture(f"{name}: {filters} filters of {k}×{k}×{channels}", stack, columns, 16, caption, 1, True)
        )
    return pictures


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


def input_picture(image28: np.ndarray, scale: int = 4) -> np.ndarray:
    """A 28×28 image (0-255) as an enlarged RGB picture, white ink on black."""
    return enlarge(colourise(np.asarray(image28, dtype=np.float32), 0.0, 255.0, diverging=False), scale)


def activation_pictures(activations: list[tuple[str, str, np.ndarray]]) -> list[Picture]:
    """Feature maps as image grids, dense units as bars; one picture per layer."""
    pictures = []
    for i, (name, kind, out) in enumerate(activations):
        title = f"{name} ({kind}) · {_shape_label(out.shape)}"
        if out.ndim == 3:
            maps = np.transpose(out, (2, 0, 1))
            scale = max(2, 84 // out.shape[0])
            caption = f"The {maps.shape[0]} feature maps, one per filter."
            pictures.append(_picture(title, maps, min(8, maps.shape[0]), scale, caption, pad=1))
        else:
            is_output = i == len(activations) - 1 and out.size == num_classes
            pictures.append(Picture(title, "", chart=unit_bars(out.ravel(), is_output)))
    return pictures


def unit_bars(values: np.ndarray, is_output: bool = False):
    """An Altair bar chart of one vector of unit activations (digits for the output)."""
    import altair as alt
    import pandas as pd

    label = "digit" if is_output else "unit"
    df = pd.DataFrame({label: np.arange(len(values)), "activation": values.astype(float)})
    df["sign"] = np.where(df["activation"] >= 0, "positive", "negative")
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X(f"{label}:O", title="probability of each digit" if is_output else label),
            y=alt.Y("activation:Q", title="activation"),
            color=alt.Color(
                "sign:N",
                scale=alt.Scale(domain=["positive", "negative"], range=["#d6604d", "#4393c3"]),
                legend=None,
            ),
            tooltip=[f"{label}:O", alt.Tooltip("activation:Q", format=".4f")],
        )
        .properties(height=160)
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


def tuning_chart(matrices: dict[str, np.ndarray], normalise: bool = False):
    """A units × classes heat map per layer, side by side, each with its own colour scale.

    With `normalise`, each unit's row is divided by its largest absolute response, so its
    preferred digit is 1 whatever its overall firing rate.
    """
    import altair as alt
    import pandas as pd

    charts = []
    for name, m in matrices.items():
        if normalise:
            peak = np.abs(m).max(axis=1, keepdims=True)
            m = m / np.where(peak > 0, peak, 1.0)
        units, classes = np.indices(m.shape)
        df = pd.DataFrame(
            {
                "unit": units.ravel(),
                "digit": classes.ravel(),
                "mean activation": m.ravel().astype(float),
                "preferred digit": np.argmax(m, axis=1)[units.ravel()],
            }
        )
        if m.min() < 0:
            scale = alt.Scale(scheme="redblue", reverse=True, domainMid=0)
        else:
            scale = alt.Scale(scheme="inferno")
        charts.append(
            alt.Chart(df, title=f"{name} ({m.shape[0]} units)")
            .mark_rect()
            .encode(
                x=alt.X("digit:O", title="digit class"),
                y=alt.Y("unit:O", title="unit"),
                color=alt.Color("mean activation:Q", scale=scale, legend=alt.Legend(orient="bottom")),
                tooltip=["unit", "digit", alt.Tooltip("mean activation:Q", format=".4f"), "preferred digit"],
            )
            .properties(width=180, height=min(480, 14 * m.shape[0]))
        )
    return alt.hconcat(*charts).resolve_scale(color="independent")
