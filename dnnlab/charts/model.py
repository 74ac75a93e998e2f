"""The Model page's layer table and diagram, unit bars and tuning maps."""

from __future__ import annotations

import html

import altair as alt
import numpy as np
import pandas as pd

from dnnlab import inspection
from dnnlab.architectures import num_classes
from dnnlab.charts.pictures import Picture, picture, shape_label
from dnnlab.charts.style import FIT_WIDTH
from dnnlab.config import ModelSpec

# --- the layer diagram -------------------------------------------------------------


_DIAGRAM_COLOURS = {
    "Input": "#d9d9d9",
    "Conv2D": "#9ecae1",
    "MaxPooling2D": "#c6dbef",
    "Dense": "#fdae6b",
    "Output": "#fc8d59",
}


def pixel_scaling(spec: ModelSpec) -> str:
    """What happens to the pixels before the first layer (outside the Keras model)."""
    return "pixels ÷ 255 → 0-1" if spec.rescale else "raw pixels 0-255"


def activation_name(layer) -> str:
    """A layer's activation function ("linear" when it has none), or "" if it has no such step."""
    activation = getattr(layer, "activation", None)
    return getattr(activation, "__name__", "") if activation is not None else ""


def layer_table(model, spec: ModelSpec) -> pd.DataFrame:
    """The `model.summary()` table with each layer's activation, after a row for the input
    and its pixel scaling: the steps that tell the talk's three MLPs apart."""
    table = inspection.summary_table(model)
    table.insert(2, "Activation", [activation_name(layer) or "—" for layer in model.layers])
    input_row = {
        "Layer (type)": f"input ({pixel_scaling(spec)})",
        "Output Shape": "(None, " + ", ".join(map(str, spec.input_shape)) + ")",
        "Activation": "—",
        "Param #": 0,
    }
    return pd.concat([pd.DataFrame([input_row]), table], ignore_index=True)


def diagram_svg(model, spec: ModelSpec) -> str:
    """The layers as boxes sized by their output shapes, like NN-SVG's LeNet figure.

    Feature maps (h×w×c) are drawn as c stacked squares of side ∝ h; vectors of n units
    as a bar of height ∝ √n. Above each box its shape, below it the layer's name, type
    and activation (the input's: its pixel scaling).
    """
    stages = [("input", "Input", tuple(model.inputs[0].shape[1:]), pixel_scaling(spec))]
    stages += [
        (layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), activation_name(layer))
        for layer in model.layers
    ]
    gap, offset, top_pad, label_h, column = 34, 5, 26, 54, 112
    boxes = []
    for i, (name, kind, shape, note) in enumerate(stages):
        name = html.escape(name)
        if len(shape) == 3:
            side = 12 + 3 * shape[0]
            copies = min(shape[2], 12)
            w, h = side + offset * (copies - 1), side + offset * (copies - 1)
            boxes.append((name, kind, shape, note, w, h, side, copies))
        else:
            units = int(np.prod(shape))
            bar = min(220.0, 8 * units**0.5)
            boxes.append((name, kind, shape, note, 16, bar, None, 1))
        if i == len(stages) - 1 and kind == "Dense":
            boxes[-1] = (name, "Output", *boxes[-1][2:])
    height = max(b[5] for b in boxes) + top_pad + label_h + 8
    parts, x = [], max(10.0, (column - boxes[0][4]) / 2)  # room for the first labels
    mid = top_pad + (height - top_pad - label_h) / 2
    for i, (name, kind, shape, note, w, h, side, copies) in enumerate(boxes):
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
            f'<text x="{cx:.1f}" y="{label_y + 28:.1f}" font-size="10" fill="#555" '
            f'text-anchor="middle">{note}</text>'
        )
        if i < len(boxes) - 1:
            ax, bx = x + w + 6, x + max(w + gap, column) - 8
            parts.append(
                f'<line x1="{ax:.1f}" y1="{mid:.1f}" x2="{bx:.1f}" y2="{mid:.1f}" '
                'stroke="#777" stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
        right = x + max(w, 60)
        x += max(w + gap, column)  # room for the labels under narrow bars
    width = right + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>'
        + "".join(parts)
        + "</svg>"
    )


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
        .properties(autosize=FIT_WIDTH, height=160)
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
                # Every class labelled: Vega would drop every other label where they crowd.
                x=alt.X("digit:O", title="digit class", axis=alt.Axis(labelAngle=0, labelOverlap=False)),
                y=alt.Y("unit:O", title="unit"),
                color=alt.Color("mean activation:Q", scale=scale, legend=alt.Legend(orient="bottom")),
                tooltip=["unit", "digit", alt.Tooltip("mean activation:Q", format=".4f"), "preferred digit"],
            )
            .properties(width=220, height=min(480, 14 * m.shape[0]))
        )
    # Side by side at their own widths: Streamlit's default autosize ("fit") only works
    # for single and layered views, and Vega warns in the console about it.
    return alt.hconcat(*charts).resolve_scale(color="independent").properties(autosize="pad")


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
