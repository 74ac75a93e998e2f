"""The Experiments page's charts: staircase, learning curves, confusion, RSA, lesions, and
models compared as participants."""

from __future__ import annotations

import altair as alt
import pandas as pd

from dnnlab import staircase
from dnnlab.charts.style import FIT_WIDTH, PERCENT, SVG_RENDERER, TALK_PRESETS, preset_scale


def _floor(values: pd.Series, margin: float = 0.03) -> float:
    """A y-axis floor below the lowest accuracy, so small steps stay visible."""
    low = float(values.min()) if len(values) else 0.8
    return max(0.0, min(0.8, round(low - margin, 2)))


def staircase_chart(stairs: pd.DataFrame) -> alt.LayerChart:
    """A bar per step at its mean accuracy, labelled with it at its foot; each run a dot and
    their range a line, left of centre; the talk's figure a short black tick right of
    centre, labelled "talk 87%"."""
    steps = staircase.steps(stairs)
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


# --- models as participants (dnnlab.compare) ------------------------------------------------

MAX_LABELLED_CELLS = 100  # beyond 10×10, numbers in the cells are too small to read


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


def embedding_chart(points: pd.DataFrame, extent: float) -> alt.Chart:
    """One snapshot's stimuli as points (columns x, y, digit), coloured by digit, on axes
    fixed at ±`extent` so that moving between snapshots moves the points, not the axes."""
    axis = alt.Axis(labels=False, ticks=False)
    scale = alt.Scale(domain=[-extent, extent], nice=False)
    return (
        alt.Chart(points)
        .mark_text(fontSize=13, fontWeight="bold")
        .encode(
            x=alt.X("x:Q", title="PC 1 of the trained layer", axis=axis, scale=scale),
            y=alt.Y("y:Q", title="PC 2", axis=axis, scale=scale),
            text="digit:N",
            color=alt.Color("digit:N", scale=alt.Scale(scheme="category10"), legend=None),
            tooltip=["digit"],
        )
        .properties(autosize=FIT_WIDTH, height=360)
    )
