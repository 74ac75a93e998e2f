"""The Draw page's charts: the ten probabilities, occlusion heat maps, invariance curves."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from dnnlab.charts.style import FIT_WIDTH, PERCENT, without_data

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
    return without_data(spec)


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
    return without_data(spec)


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
