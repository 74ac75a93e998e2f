"""What every chart shares: colour maps, preset colours, sizes, and the projector's fonts."""

from __future__ import annotations

import altair as alt
from matplotlib import colormaps

from dnnlab.config import PRESETS

# Blue for negative and red for positive weights, white for zero; MNIST itself in greys
# (ink is bright).
DIVERGING = colormaps["RdBu_r"]
GREYS = colormaps["gray"]
BACKGROUND = (255, 255, 255)


# Streamlit's default ("fit") squeezes axes, legends and titles into a chart's height, so a
# 280 px chart with two legends kept an 86 px plot: fit the width only, `height` is the plot's.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


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


SVG_RENDERER = {"embedOptions": {"renderer": "svg"}}


def without_data(spec: dict) -> dict:
    """A spec built from data-less Altair charts, made ready for inline data.

    Altair names an empty data set in such a spec and in each of its layers; left in,
    that set shadows the data the page sends and Vega draws nothing.
    """
    spec = {k: v for k, v in spec.items() if k not in ("data", "datasets")}
    if "layer" in spec:
        spec["layer"] = [without_data(layer) for layer in spec["layer"]]
    return spec
