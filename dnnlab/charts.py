"""Every chart and picture the app shows, built from the numbers `dnnlab` computes.

Pages only place what these functions return: RGB pictures (numpy uint8 arrays),
SVG text, or Altair charts. Colour maps are matplotlib's.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
from matplotlib import colormaps

from dnnlab.architectures import num_classes
from dnnlab.inspection import conv_filters, dense_weight_images

# Blue for negative and red for positive weights, white for zero; MNIST itself in greys
# (ink is bright).
DIVERGING = colormaps["RdBu_r"]
GREYS = colormaps["gray"]
_BACKGROUND = (255, 255, 255)


# --- pictures from numbers ------------------------------------------------------------


def colourise(values: np.ndarray, vmin: float, vmax: float, diverging: bool) -> np.ndarray:
    """Map values to uint8 RGB with a colour map; NaN becomes the white background."""
    values = np.asarray(values, dtype=np.float32)
    span = vmax - vmin if vmax > vmin else 1.0
    t = np.clip((np.nan_to_num(values, nan=vmin) - vmin) / span, 0.0, 1.0)
    cmap = DIVERGING if diverging else GREYS
    rgb = cmap(t, bytes=True)[..., :3]
    rgb[np.isnan(values)] = _BACKGROUND
    return rgb


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


def picture(title, stack, columns, scale, caption, pad=1, diverging=None) -> Picture:
    """A stack of 2-D arrays as one enlarged colour grid, its colour key in the caption."""
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


def shape_label(shape: tuple) -> str:
    if len(shape) == 3:
        h, w, c = shape
        return f"{c}@{h}×{w}"
    return "×".join(str(d) for d in shape)


# --- the layer diagram -------------------------------------------------------------


_DIAGRAM_COLOURS = {
    "Input": "#d9d9d9",
    "Conv2D": "#9ecae1",
    "MaxPooling2D": "#c6dbef",
    "Dense": "#fdae6b",
    "Output": "#fc8d59",
}


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
            f"{shape_label(shape)}</text>"
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


# --- first-layer weights, activations ---------------------------------------------------


def weight_pictures(model) -> list[Picture]:
    """The first layer's receptive fields (MLP) or every convolution's filters (CNN)."""
    convs = conv_filters(model)
    if not convs:
        images = dense_weight_images(model)
        name = next(layer.name for layer in model.layers if type(layer).__name__ == "Dense")
        return [
            picture(
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
            picture(f"{name}: {filters} filters of {k}×{k}×{channels}", stack, columns, 16, caption, 1, True)
        )
    return pictures


def input_picture(image28: np.ndarray, scale: int = 4) -> np.ndarray:
    """A 28×28 image (0-255) as an enlarged RGB picture, white ink on black."""
    return enlarge(colourise(np.asarray(image28, dtype=np.float32), 0.0, 255.0, diverging=False), scale)


def activation_pictures(activations: list[tuple[str, str, np.ndarray]]) -> list[Picture]:
    """Feature maps as image grids, dense units as bars; one picture per layer."""
    pictures = []
    for i, (name, kind, out) in enumerate(activations):
        title = f"{name} ({kind}) · {shape_label(out.shape)}"
        if out.ndim == 3:
            maps = np.transpose(out, (2, 0, 1))
            scale = max(2, 84 // out.shape[0])
            caption = f"The {maps.shape[0]} feature maps, one per filter."
            pictures.append(picture(title, maps, min(8, maps.shape[0]), scale, caption, pad=1))
        else:
            is_output = i == len(activations) - 1 and out.size == num_classes
            pictures.append(Picture(title, "", chart=unit_bars(out.ravel(), is_output)))
    return pictures


def unit_bars(values: np.ndarray, is_output: bool = False) -> alt.Chart:
    """A bar chart of one vector of unit activations (digits for the output)."""
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


# --- tuning ------------------------------------------------------------------------------


def tuning_chart(matrices: dict[str, np.ndarray], normalise: bool = False) -> alt.HConcatChart:
    """A units × classes heat map per layer, side by side, each with its own colour scale.

    With `normalise`, each unit's row is divided by its largest absolute response, so its
    preferred digit is 1 whatever its overall firing rate.
    """
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
