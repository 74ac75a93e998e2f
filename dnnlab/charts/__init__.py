"""Every chart and picture the app shows, built from the numbers `dnnlab` computes.

Pages only place what these functions return: RGB pictures (numpy uint8 arrays),
SVG text, or Altair charts. Colour maps are matplotlib's. The Room page's projector
charts are in `dnnlab.charts.room`.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import altair as alt
import numpy as np
import pandas as pd
from matplotlib import colormaps
from PIL import Image

from dnnlab import inspection
from dnnlab.architectures import num_classes
from dnnlab.config import PRESETS, ModelSpec

if TYPE_CHECKING:
    from dnnlab.progress import Progress

# Blue for negative and red for positive weights, white for zero; MNIST itself in greys
# (ink is bright).
DIVERGING = colormaps["RdBu_r"]
GREYS = colormaps["gray"]
_BACKGROUND = (255, 255, 255)


# Streamlit's default ("fit") squeezes axes, legends and titles into a chart's height, so a
# 280 px chart with two legends kept an 86 px plot: fit the width only, `height` is the plot's.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


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


# --- first-layer weights, activations ---------------------------------------------------


def weight_pictures(model) -> list[Picture]:
    """The first layer's receptive fields (MLP) or every convolution's filters (CNN)."""
    convs = inspection.conv_filters(model)
    if not convs:
        images = inspection.dense_weight_images(model)
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


# --- the live training chart -------------------------------------------------------------

LIVE_HEIGHT = 400  # px of plot: readable at 1920×1080 from the back of a lecture room
SPLIT_COLOURS = {"training": "#1f77b4", "validation": "#ff7f0e"}
EARLIER_COLOUR = "#7f7f7f"


def curves(records: Iterable[Progress], smoothing: float = 0.05) -> list[dict]:
    """Rows (epoch, metric, split, value) for the loss and accuracy chart.

    Keras reports the running mean since the epoch began; the mean over the batches
    between two reports is recovered from consecutive running means, then smoothed
    with an exponential moving average whose time constant is `smoothing` epochs, so
    the curve looks the same however many batches an epoch has. Each point sits at the
    fraction of the epoch its batches reached, so a run stopped mid-epoch ends mid-epoch.
    Validation figures appear once per completed epoch.
    """
    rows: list[dict] = []
    ema: dict[str, float] = {}
    last_epoch, last_batch, last_mean = 0, 0, {"loss": 0.0, "accuracy": 0.0}
    for r in records:
        if r.epoch != last_epoch:
            last_epoch, last_batch, last_mean = r.epoch, 0, {"loss": 0.0, "accuracy": 0.0}
        x = (r.epoch - 1) + r.batch / r.batches_per_epoch
        if r.batch > last_batch:
            for metric, mean in (("loss", r.loss), ("accuracy", r.accuracy)):
                if not math.isfinite(mean):
                    continue
                chunk = (mean * r.batch - last_mean[metric] * last_batch) / (r.batch - last_batch)
                weight = 1 - math.exp(-(r.batch - last_batch) / (smoothing * r.batches_per_epoch))
                ema[metric] = chunk if metric not in ema else weight * chunk + (1 - weight) * ema[metric]
                value = max(ema[metric], 1e-6)  # the loss axis is logarithmic
                rows.append({"epoch": x, "metric": metric, "split": "training", "value": value})
                last_mean[metric] = mean
            last_batch = r.batch
        if r.kind == "epoch" and r.batch == r.batches_per_epoch:
            for metric, value in (("loss", r.val_loss), ("accuracy", r.val_accuracy)):
                if value is not None and math.isfinite(value):
                    rows.append(
                        {"epoch": float(r.epoch), "metric": metric, "split": "validation", "value": value}
                    )
    return rows


def _without_data(spec: dict) -> dict:
    """A spec built from data-less Altair charts, made ready for inline data.

    Altair names an empty data set in such a spec and in each of its layers; left in,
    that set shadows the data the page sends and Vega draws nothing.
    """
    spec = {k: v for k, v in spec.items() if k not in ("data", "datasets")}
    if "layer" in spec:
        spec["layer"] = [_without_data(layer) for layer in spec["layer"]]
    return spec


def accuracy_floor(runs: Iterable[list[dict]], margin: float = 0.02) -> float:
    """The bottom of the accuracy axis: just below the second half of every run.

    A run's first moments (10% and climbing) would stretch the axis until 89% and 98%
    sit side by side; the axis is zoomed to where each run has settled instead, and
    the start is cut off at the bottom.
    """
    settled = []
    for rows in runs:
        points = [(r["epoch"], r["value"]) for r in rows if r["metric"] == "accuracy"]
        if points:
            half = max(e for e, _ in points) / 2
            settled += [v for e, v in points if e >= half]
    if not settled:
        return 0.0
    return max(0.0, min(0.9, math.floor((min(settled) - margin) * 20) / 20))


@functools.lru_cache(maxsize=8)
def _live_templates(validation: bool, height: int) -> tuple[dict, dict]:
    """The loss and accuracy specs without data, built and validated by Altair once.

    The Train page polls twice a second; building and validating Altair charts each
    time took enough of the GIL to slow training tenfold, so each poll only fills in
    data and axis ranges (`live_specs`).
    """
    splits = list(SPLIT_COLOURS) if validation else ["training"]
    colour = alt.Color(
        "split:N",
        title=None,
        scale=alt.Scale(domain=splits, range=[SPLIT_COLOURS[s] for s in splits]),
        legend=alt.Legend(orient="bottom") if validation else None,
    )
    live = alt.Chart().transform_filter("!isValid(datum.run)")
    earlier = alt.Chart().transform_filter("isValid(datum.run) && datum.split == 'training'")
    tooltip = ["split:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("value:Q", format=".4f")]

    def panel(metric: str, scale: alt.Scale, axis: alt.Axis) -> dict:
        mine = alt.datum.metric == metric
        faint = earlier.transform_filter(mine)
        last = faint.transform_joinaggregate(last="max(epoch)", groupby=["run"]).transform_filter(
            "datum.epoch == datum.last"
        )
        chart = alt.layer(
            faint.mark_line(color=EARLIER_COLOUR, opacity=0.4, clip=True).encode(detail="run:N"),
            last.mark_text(align="left", dx=4, color=EARLIER_COLOUR, clip=False).encode(text="run:N"),
            live.transform_filter(mine)
            .transform_filter("datum.split == 'training'")
            .mark_line(clip=True)
            .encode(color=colour, tooltip=tooltip),
            live.transform_filter(mine)
            .transform_filter("datum.split == 'validation'")
            .mark_line(point=True, clip=True)
            .encode(color=colour, tooltip=tooltip),
        ).encode(
            x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("value:Q", title=metric, scale=scale, axis=axis),
        )
        return _without_data(chart.properties(autosize=FIT_WIDTH, height=height, title=metric).to_dict())

    return (
        panel("loss", alt.Scale(type="log"), alt.Axis()),
        panel("accuracy", alt.Scale(domain=[0, 1]), alt.Axis(format="%")),
    )


def live_specs(
    rows: list[dict],
    epochs: int,
    *,
    earlier: Sequence[tuple[str, list[dict]]] = (),
    validation: bool = True,
    height: int = LIVE_HEIGHT,
) -> tuple[dict, dict]:
    """Vega-Lite specs, data inline, of the live loss and accuracy charts.

    `rows` come from `curves`; `earlier` runs of this session, (label, their `curves`),
    are drawn faintly behind and labelled at their ends; without a validation split
    there is no validation legend.
    """
    loss, accuracy = _live_templates(validation, height)
    values = rows + [{**r, "run": label} for label, past in earlier for r in past]
    last_epoch = max([epochs, *(r["epoch"] for _, past in earlier for r in past)])
    floor = accuracy_floor([rows, *(past for _, past in earlier)])
    losses = [v["value"] for v in values if v["metric"] == "loss"] or [0.1, 1.0]

    def filled(template: dict, metric: str, y_domain: list) -> dict:
        # A layer with no rows makes Vega warn in the console ("Infinite extent"), so each
        # poll keeps only the layers it has data for: the earlier runs' (line, labels),
        # the live training line, the live validation points.
        has = {(v.get("run") is None, v["split"]) for v in values if v["metric"] == metric}
        wanted = [
            any(not live for live, _ in has),
            any(not live for live, _ in has),
            (True, "training") in has or not has,
            (True, "validation") in has,
        ]
        encoding = {
            **template["encoding"],
            "x": {**template["encoding"]["x"], "scale": {"domain": [0, last_epoch]}},
            "y": {
                **template["encoding"]["y"],
                "scale": {**template["encoding"]["y"]["scale"], "domain": y_domain},
            },
        }
        layers = [layer for layer, keep in zip(template["layer"], wanted, strict=True) if keep]
        return {**template, "layer": layers, "encoding": encoding, "data": {"values": values}}

    # Both axes' ranges are given, so Vega computes none from (possibly empty) data.
    loss_domain = [min(losses) / 1.2, max(losses) * 1.2]
    return filled(loss, "loss", loss_domain), filled(accuracy, "accuracy", [floor, 1.0])


# --- the Draw page's probabilities -------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _probability_template() -> dict:
    """The bar chart without data, built by Altair once: each stroke only sends new rows
    (Altair's `to_dict` costs 50-100 ms of a 300 ms stroke-to-prediction budget)."""
    spec = (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("digit:O", title="digit", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
            color=alt.condition("datum.predicted", alt.value("#e4572e"), alt.value("#4c78a8")),
            tooltip=["digit:O", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(autosize=FIT_WIDTH, height=220)
        .to_dict()
    )
    return _without_data(spec)


def probability_spec(probabilities: Sequence[float], predicted: int) -> dict:
    """The ten probabilities as bars, the predicted digit highlighted; data inline.

    Ten rows inline: a DataFrame would go through Arrow, a fifth of the server's time
    per stroke when a room draws at once.
    """
    rows = [
        {"digit": d, "probability": float(p), "predicted": d == predicted}
        for d, p in enumerate(probabilities)
    ]
    return {**_probability_template(), "data": {"values": rows}}


# --- presentation mode ---------------------------------------------------------------------

PROJECTOR_FONTS = {
    "axis": {"labelFontSize": 18, "titleFontSize": 20},
    "legend": {"labelFontSize": 18, "titleFontSize": 20, "symbolSize": 200},
    "header": {"labelFontSize": 18, "titleFontSize": 20},
    "title": {"fontSize": 24},
    "text": {"fontSize": 18},
}


def for_projector(chart_or_spec):
    """The same chart with axis, legend, title and text fonts large enough for the back row.

    Takes an Altair chart or a Vega-Lite dict and returns the same kind; Vega draws on
    SVG or canvas, so page CSS cannot enlarge its text, its config must.
    """
    if isinstance(chart_or_spec, dict):
        config = dict(chart_or_spec.get("config", {}))
        for part, fonts in PROJECTOR_FONTS.items():
            config[part] = {**config.get(part, {}), **fonts}
        return {**chart_or_spec, "config": config}
    chart = chart_or_spec.copy(deep=False)
    config = chart.config.to_dict() if chart.config is not alt.Undefined else {}
    for part, fonts in PROJECTOR_FONTS.items():
        config[part] = {**config.get(part, {}), **fonts}
    chart.config = alt.Config.from_dict(config)
    return chart


# --- the Experiments page ------------------------------------------------------------------

PERCENT = alt.Axis(format="%")
TALK_PRESETS = tuple(PRESETS)
# One colour per talk preset (tableau10's first four), grey for anything else.
PRESET_COLOURS = dict(zip(TALK_PRESETS, ["#4c78a8", "#f58518", "#e45756", "#72b7b2"], strict=True))
CUSTOM_COLOUR = "#9d9d9d"


def preset_scale() -> alt.Scale:
    return alt.Scale(domain=[*PRESET_COLOURS, "custom"], range=[*PRESET_COLOURS.values(), CUSTOM_COLOUR])


def _floor(values: pd.Series, margin: float = 0.03) -> float:
    """A y-axis floor below the lowest accuracy, so small steps stay visible."""
    low = float(values.min()) if len(values) else 0.8
    return max(0.0, min(0.8, round(low - margin, 2)))


def staircase_steps(stairs: pd.DataFrame) -> pd.DataFrame:
    """One step per talk preset (its runs pooled: seeds) or per custom run, in the talk's order.

    Args:
        stairs: one row per run with name, preset, test_accuracy, talk_accuracy.

    Returns:
        Columns step, preset, runs, mean, low, high, talk_accuracy.
    """
    is_talk = stairs["preset"].isin(TALK_PRESETS)
    step = stairs["preset"].where(is_talk, stairs["name"])
    grouped = stairs.assign(step=step).groupby("step", sort=False)
    steps = grouped.agg(
        preset=("preset", "first"),
        runs=("test_accuracy", "size"),
        mean=("test_accuracy", "mean"),
        low=("test_accuracy", "min"),
        high=("test_accuracy", "max"),
        talk_accuracy=("talk_accuracy", "first"),
    ).reset_index()
    rank = {p: i for i, p in enumerate(TALK_PRESETS)}
    order = steps["step"].map(lambda s: (rank.get(s, len(rank)), s))
    return steps.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def staircase_chart(stairs: pd.DataFrame) -> alt.LayerChart:
    """A bar per step at its mean accuracy, labelled with it at its foot; each run a dot and
    their range a line, left of centre; the talk's figure a short black tick right of
    centre, labelled "talk 87%"."""
    steps = staircase_steps(stairs)
    floor = _floor(pd.concat([stairs["test_accuracy"], stairs["talk_accuracy"].dropna()]))
    steps["floor"] = floor
    runs = stairs.assign(step=stairs["preset"].where(stairs["preset"].isin(TALK_PRESETS), stairs["name"]))
    x = alt.X("step:N", sort=list(steps["step"]), title=None, axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(domain=[floor, 1.0], clamp=True)
    base = alt.Chart(steps).encode(x=x)
    bars = base.mark_bar(opacity=0.8).encode(
        y=alt.Y("mean:Q", scale=y_scale, axis=PERCENT, title="test accuracy"),
        color=alt.Color("preset:N", scale=preset_scale(), legend=None),
        tooltip=[
            "step",
            "runs",
            alt.Tooltip("mean:Q", format=".2%"),
            alt.Tooltip("low:Q", format=".2%", title="lowest"),
            alt.Tooltip("high:Q", format=".2%", title="highest"),
        ],
    )
    labels = base.mark_text(baseline="bottom", dy=-6, color="white", fontWeight="bold").encode(
        y=alt.Y("floor:Q", scale=y_scale), text=alt.Text("mean:Q", format=".1%")
    )
    ranges = base.mark_rule(color="#222", strokeWidth=2, xOffset=-12).encode(
        y=alt.Y("low:Q", scale=y_scale), y2="high:Q"
    )
    dots = (
        alt.Chart(runs)
        .mark_circle(color="#222", size=40, opacity=1, xOffset=-12)
        .encode(
            x=x,
            y=alt.Y("test_accuracy:Q", scale=y_scale),
            tooltip=["name", alt.Tooltip("test_accuracy:Q", format=".2%", title="test accuracy")],
        )
    )
    talk = base.transform_filter("isValid(datum.talk_accuracy)").transform_calculate(
        talk_label="'talk ' + format(datum.talk_accuracy, '.0%')"
    )
    ticks = talk.mark_tick(color="black", thickness=4, size=28, xOffset=16).encode(
        y=alt.Y("talk_accuracy:Q", scale=y_scale),
        tooltip=["step", alt.Tooltip("talk_accuracy:Q", format=".0%", title="in the talk")],
    )
    talk_labels = talk.mark_text(align="left", dx=34, fontWeight="bold").encode(
        y=alt.Y("talk_accuracy:Q", scale=y_scale), text="talk_label:N"
    )
    chart = alt.layer(bars, labels, ranges, dots, ticks, talk_labels).properties(
        autosize=FIT_WIDTH, height=340
    )
    return chart.configure_text(fontSize=13)  # in the config, so `for_projector` can enlarge it


def curve_chart(curves: pd.DataFrame, metric: str) -> alt.Chart:
    """One metric's per-epoch curves: colour = preset, one line per run, dashes = validation.

    `curves` has columns run, preset, epoch, metric, split, value.
    """
    data = curves[curves["metric"] == metric]
    scale = alt.Scale(type="log") if metric == "loss" else alt.Scale(zero=False)
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y(
                "value:Q", title=metric, scale=scale, axis=PERCENT if metric == "accuracy" else alt.Axis()
            ),
            color=alt.Color(
                "preset:N",
                scale=preset_scale(),
                legend=alt.Legend(orient="bottom", title="preset"),
            ),
            detail="run:N",
            strokeDash=alt.StrokeDash(
                "split:N", title=None, sort=["training", "validation"], legend=alt.Legend(symbolType="stroke")
            ),
            tooltip=["run", "preset", "split", "epoch", alt.Tooltip("value:Q", format=".4f", title=metric)],
        )
        .properties(autosize=FIT_WIDTH, height=280, title=metric)
    )


def confusion_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """The confusion matrix as a heat map (log-like colour scale), with the counts."""
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:O", title="predicted digit", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("true:O", title="true digit"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme="blues"), legend=None),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".1%", title="share of true")],
    )
    text = base.mark_text(fontSize=11).encode(
        text="count:Q",
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("black")),
    )
    return alt.layer(cells, text).properties(autosize=FIT_WIDTH, height=360)


def per_class_chart(frame: pd.DataFrame, columns: list[str], from_zero: bool = False) -> alt.Chart:
    """Accuracy per digit; several `columns` (e.g. intact, lesioned) become grouped bars.

    The axis starts just below the lowest bar unless `from_zero`.
    """
    long = frame.melt(id_vars="digit", value_vars=columns, var_name="model", value_name="correct")
    floor = 0.0 if from_zero else _floor(long["correct"].dropna(), margin=0.05)
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("digit:O", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("model:N", sort=columns),
            y=alt.Y(
                "correct:Q", title="accuracy", axis=PERCENT, scale=alt.Scale(domain=[floor, 1], clamp=True)
            ),
            color=alt.Color(
                "model:N", sort=columns, legend=alt.Legend(orient="bottom") if len(columns) > 1 else None
            ),
            tooltip=["digit", "model", alt.Tooltip("correct:Q", format=".1%", title="accuracy")],
        )
        .properties(autosize=FIT_WIDTH, height=260)
    )


def rsa_chart(table: pd.DataFrame, measure: str = "Spearman's ρ") -> alt.LayerChart:
    """Each stage's RDM compared with the pixel RDM and with the category RDM, with 95%
    bootstrap intervals, and the ceiling: what a perfect category RDM scores here.

    `table` is `rsa.RsaResult.table()`: stage, depth, compared_with, score, low, high, ceiling.
    """
    stages = list(dict.fromkeys(table.sort_values("depth")["stage"]))
    x = alt.X("stage:N", sort=stages, title="input → output", axis=alt.Axis(labelAngle=0))
    colour = alt.Color("compared_with:N", title="compared with", legend=alt.Legend(orient="bottom"))
    y = alt.Y("score:Q", title=f"{measure} between RDMs", scale=alt.Scale(domain=[-0.1, 1]))
    base = alt.Chart(table)
    lines = base.mark_line(point=True).encode(
        x=x,
        y=y,
        color=colour,
        tooltip=[
            "stage",
            "compared_with",
            alt.Tooltip("score:Q", format=".3f"),
            alt.Tooltip("low:Q", format=".3f", title="95% from"),
            alt.Tooltip("high:Q", format=".3f", title="95% to"),
            alt.Tooltip("of_ceiling:Q", format=".0%", title="of the ceiling"),
        ],
    )
    intervals = base.mark_rule(strokeWidth=2).encode(x=x, y="low:Q", y2="high:Q", color=colour)
    category = table[table["ceiling"] < 1].head(1)  # pixels are their own ceiling (1)
    ceiling = alt.Chart(category).mark_rule(strokeDash=[6, 4], color="black").encode(y="ceiling:Q")
    ceiling_label = (
        alt.Chart(category)
        .transform_calculate(text="'ceiling for the category RDM: ' + format(datum.ceiling, '.2f')")
        .mark_text(align="right", baseline="bottom", dy=-3, x="width")
        .encode(y="ceiling:Q", text="text:N")
    )
    return alt.layer(intervals, lines, ceiling, ceiling_label).properties(autosize=FIT_WIDTH, height=300)


def unit_lesion_chart(sweep: pd.DataFrame, intact: float) -> alt.Chart:
    """The drop in test accuracy when each unit is silenced alone."""
    data = sweep.assign(drop=intact - sweep["accuracy"])
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("unit:O", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("drop:Q", title="accuracy drop", axis=alt.Axis(format=".1%")),
            tooltip=["unit", alt.Tooltip("accuracy:Q", format=".2%"), alt.Tooltip("drop:Q", format=".2%")],
        )
        .properties(autosize=FIT_WIDTH, height=220)
    )


# --- inside the network, on the Draw page -------------------------------------------------

LIVE_MAP_PX = 56  # a feature map's side on screen: 26×26 maps at 2×, 5×5 at 11×


def live_layer_pictures(layers: list[tuple[str, str, np.ndarray]]) -> list[Picture]:
    """One picture per hidden layer for one drawing, cheap enough for every stroke: feature
    maps as a grid (one cell per channel), dense units as a grid of coloured cells.

    Flatten (the pooled maps again) and the output (the probability chart) are left out.
    """
    pictures = []
    for name, kind, out in layers[:-1]:
        if kind == "Flatten" or out.ndim not in (1, 3):
            continue
        if out.ndim == 3:
            maps = np.transpose(out, (2, 0, 1))
            scale = max(2, LIVE_MAP_PX // out.shape[0])
            caption = f"{name}: {maps.shape[0]} maps of {out.shape[0]}×{out.shape[1]}."
            pictures.append(picture(f"{name} ({kind})", maps, 4, scale, caption, pad=1))
        else:
            columns = 8 if out.size <= 64 else 16
            rows = -(-out.size // columns)
            cells = np.full(rows * columns, np.nan, np.float32)
            cells[: out.size] = out
            grid = cells.reshape(1, rows, columns)
            caption = f"{name}: {out.size} units, one cell each, row by row."
            pictures.append(picture(f"{name} ({kind})", grid, 1, 20, caption, pad=0))
    return pictures


@functools.lru_cache(maxsize=1)
def _heat_template() -> dict:
    """A 28×28 heat map without data (built once: each stroke only sends new cells)."""
    spec = (
        alt.Chart()
        .mark_rect()
        .encode(
            x=alt.X("column:O", axis=None),
            y=alt.Y("row:O", axis=None),
            color=alt.Color(
                "drop:Q",
                scale=alt.Scale(scheme="redblue", reverse=True, domainMid=0),
                legend=alt.Legend(title="drop in p", format=".0%", orient="bottom"),
            ),
            tooltip=["row:O", "column:O", alt.Tooltip("drop:Q", format=".1%")],
        )
        .properties(width=224, height=224)
        .to_dict()
    )
    return _without_data(spec)


def occlusion_spec(drop: np.ndarray, title: str) -> dict:
    """The occlusion map as a Vega-Lite heat map, one cell per input pixel; data inline.
    Its colour scale is symmetric about 0 (white), red where occluding costs the answer."""
    limit = max(float(np.abs(drop).max()), 1e-3)
    rows = [{"row": r, "column": c, "drop": float(v)} for (r, c), v in np.ndenumerate(drop)]
    spec = {**_heat_template(), "data": {"values": rows}, "title": title}
    encoding = dict(spec["encoding"])
    encoding["color"] = {
        **encoding["color"],
        "scale": {**encoding["color"]["scale"], "domain": [-limit, limit]},
    }
    return {**spec, "encoding": encoding}


def invariance_chart(curves: pd.DataFrame) -> alt.HConcatChart:
    """Test accuracy against shift and against rotation, one line per model.

    `curves`: columns model, change, amount, accuracy (from `invariance.accuracy_curves`).
    """
    charts = []
    for change, part in curves.groupby("change", sort=False):
        charts.append(
            alt.Chart(part)
            .mark_line(point=True)
            .encode(
                x=alt.X("amount:Q", title=change),
                y=alt.Y("accuracy:Q", title="test accuracy", axis=PERCENT, scale=alt.Scale(domain=[0, 1])),
                color=alt.Color("model:N", title="model"),
                tooltip=["model:N", "amount:Q", alt.Tooltip("accuracy:Q", format=".1%")],
            )
            .properties(width=300, height=240)
        )
    return alt.hconcat(*charts).resolve_scale(x="independent")


def digit_pictures(images: np.ndarray, scale: int = 3) -> list[np.ndarray]:
    """Each 28×28 image (0-255) as its own enlarged picture, white ink on black."""
    return [input_picture(image, scale) for image in images]


def top_image_pictures(images: np.ndarray, top: np.ndarray, scale: int = 2) -> list[np.ndarray]:
    """For each unit, its top images (indices into `images`) as one 3×3 grid."""
    columns = math.isqrt(top.shape[1]) or 1
    return [
        enlarge(colourise(montage(images[indices].astype(np.float32), columns), 0.0, 255.0, False), scale)
        for indices in top
    ]


# --- models as participants (dnnlab.compare) ------------------------------------------------

MAX_LABELLED_CELLS = 100  # beyond 10×10, numbers in the cells are too small to read
SVG_RENDERER = {"embedOptions": {"renderer": "svg"}}


def similarity_matrix_chart(
    frame: pd.DataFrame, order: list[str], title: str, domain=(0, 1)
) -> alt.LayerChart:
    """A square similarity matrix as a heat map; each cell labelled with its value when few.

    `frame` is long form: row, column, similarity (NaN cells are left blank).
    """
    shown = frame.dropna(subset=["similarity"])
    size = max(160, min(560, 44 * len(order)))
    axis = {"labelLimit": 220}
    base = alt.Chart(shown).encode(
        x=alt.X("column:N", sort=order, title=None, axis=alt.Axis(labelAngle=-45, orient="top", **axis)),
        y=alt.Y("row:N", sort=order, title=None, axis=alt.Axis(**axis)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "similarity:Q", title=title, scale=alt.Scale(scheme="viridis", domain=list(domain), clamp=True)
        ),
        tooltip=["row", "column", alt.Tooltip("similarity:Q", format=".2f", title=title)],
    )
    layers = [cells]
    if len(order) ** 2 <= MAX_LABELLED_CELLS:
        layers.append(
            base.mark_text(fontSize=11).encode(
                text=alt.Text("similarity:Q", format=".2f"),
                color=alt.condition(
                    alt.datum.similarity > (domain[0] + domain[1]) / 2, alt.value("black"), alt.value("white")
                ),
            )
        )
    # SVG: cells and their numbers stay sharp on a projector, and each cell is an element.
    return alt.layer(*layers).properties(width=size, height=size, usermeta=SVG_RENDERER)


def mds_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Models × stages as points of a 2-D map (classical MDS of 1 − similarity), each
    model's stages joined in order from input to output, the stages labelled."""
    colour = alt.Color("model:N", legend=alt.Legend(orient="bottom", title=None))
    base = alt.Chart(frame).encode(
        x=alt.X("x:Q", title="MDS 1", axis=alt.Axis(labels=False, ticks=False)),
        y=alt.Y("y:Q", title="MDS 2", axis=alt.Axis(labels=False, ticks=False)),
        color=colour,
    )
    paths = base.mark_line(opacity=0.6).encode(order="depth:Q", detail="model:N")
    points = base.mark_circle(size=90, opacity=1).encode(tooltip=["model", "stage"])
    labels = base.mark_text(align="left", dx=7, dy=-5, fontSize=11).encode(text="stage:N")
    return alt.layer(paths, points, labels).properties(autosize=FIT_WIDTH, height=420)


def seed_ceiling_chart(pairs: pd.DataFrame, title: str) -> alt.LayerChart:
    """Each pair of models a tick, between seeds of one preset or between architectures,
    and each kind's mean as a bar: a difference between networks beyond the spread between
    runs shows as the lower bar lying below the upper one's ticks."""
    kinds = ["between seeds", "between architectures"]
    x = alt.X("kind:N", sort=kinds, title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("similarity:Q", title=title, scale=alt.Scale(domain=[min(0.0, pairs["similarity"].min()), 1]))
    means = (
        alt.Chart(pairs).mark_bar(opacity=0.35, color="#4c78a8").encode(x=x, y=alt.Y("mean(similarity):Q"))
    )
    ticks = (
        alt.Chart(pairs)
        .mark_tick(thickness=2, size=30)
        .encode(
            x=x,
            y=y,
            color=alt.Color(
                "group_a:N", scale=preset_scale(), title="preset", legend=alt.Legend(orient="bottom")
            ),
            tooltip=["a", "b", "kind", alt.Tooltip("similarity:Q", format=".3f")],
        )
    )
    return alt.layer(means, ticks).properties(autosize=FIT_WIDTH, height=280)


def png_data_url(rgb: np.ndarray) -> str:
    """An RGB picture as a PNG `data:` URL, for pictures that change with every stroke: the
    browser shows it from the page's own message instead of fetching it from the server's
    media store (a request that waits behind every other on a busy server)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
