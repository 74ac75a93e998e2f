"""The Experiments page's rendering: Altair charts from `dnnlab.analysis` frames, and its sections."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from dnnlab.analysis import PRESET_ORDER

PERCENT = alt.Axis(format="%")


def _floor(values: pd.Series, margin: float = 0.03) -> float:
    """A y-axis floor below the lowest accuracy, so small steps stay visible."""
    low = float(values.min()) if len(values) else 0.8
    return max(0.0, min(0.8, round(low - margin, 2)))


def staircase_chart(stairs: pd.DataFrame) -> alt.LayerChart:
    """A bar per run, in the talk's order and coloured by preset; black ticks: the talk's figure."""
    floor = _floor(pd.concat([stairs["test_accuracy"], stairs["talk_accuracy"].dropna()]))
    x = alt.X("name:N", sort=list(stairs["name"]), title=None, axis=alt.Axis(labelAngle=0))
    y_scale = alt.Scale(domain=[floor, 1.0], clamp=True)
    bars = (
        alt.Chart(stairs)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("test_accuracy:Q", scale=y_scale, axis=PERCENT, title="test accuracy"),
            color=alt.Color(
                "preset:N",
                sort=list(PRESET_ORDER),
                scale=alt.Scale(domain=list(PRESET_ORDER), scheme="tableau10"),
                legend=alt.Legend(orient="bottom", title="preset"),
            ),
            tooltip=["name", "preset", alt.Tooltip("test_accuracy:Q", format=".2%", title="test accuracy")],
        )
    )
    reference = stairs.dropna(subset=["talk_accuracy"])
    ticks = (
        alt.Chart(reference)
        .mark_tick(color="black", thickness=3)
        .encode(
            x=x,
            y=alt.Y("talk_accuracy:Q", scale=y_scale),
            tooltip=["preset", alt.Tooltip("talk_accuracy:Q", format=".0%", title="in the talk")],
        )
    )
    labels = ticks.mark_text(dy=-9, fontWeight="bold").encode(text=alt.Text("talk_accuracy:Q", format=".0%"))
    bar_labels = bars.mark_text(dy=12, color="white").encode(text=alt.Text("test_accuracy:Q", format=".1%"))
    return alt.layer(bars, bar_labels, ticks, labels).properties(height=340)


def curve_chart(curves: pd.DataFrame, metric: str) -> alt.Chart:
    """One metric's per-epoch curves: colour = run, dashes = validation."""
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
            color=alt.Color("run:N", title="run"),
            strokeDash=alt.StrokeDash("split:N", title=None, sort=["training", "validation"]),
            tooltip=["run", "split", "epoch", alt.Tooltip("value:Q", format=".4f", title=metric)],
        )
        .properties(height=280, title=metric)
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
    return alt.layer(cells, text).properties(height=360)


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
        .properties(height=260)
    )


def rsa_chart(table: pd.DataFrame) -> alt.Chart:
    """Each stage's RDM correlation with the pixel RDM and with the category RDM."""
    stages = list(dict.fromkeys(table.sort_values("depth")["stage"]))
    return (
        alt.Chart(table)
        .mark_line(point=True)
        .encode(
            x=alt.X("stage:N", sort=stages, title="input → output", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("spearman:Q", title="Spearman correlation of RDMs", scale=alt.Scale(domain=[-0.1, 1])),
            color=alt.Color("compared_with:N", title="compared with", legend=alt.Legend(orient="bottom")),
            tooltip=["stage", "compared_with", alt.Tooltip("spearman:Q", format=".3f")],
        )
        .properties(height=300)
    )


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
        .properties(height=220)
    )


# --- the page's sections: widgets for inputs, charts for results ---------------------

GALLERY_SIZE = 24
RDM_COLUMNS = 4


def remembered(key: str) -> None:
    """Restore a widget's value after its tab was hidden (Streamlit drops unrendered widgets' state)."""
    if key not in st.session_state and f"_{key}" in st.session_state:
        st.session_state[key] = st.session_state[f"_{key}"]


def remember(key: str, value):
    st.session_state[f"_{key}"] = value
    return value


def staircase(stairs: pd.DataFrame, runs: pd.DataFrame) -> None:
    st.markdown(
        "Test accuracy of every saved model, presets in the talk's order; black ticks: the talk's figures."
    )
    if stairs.empty:
        st.info("No model with a test accuracy yet: train one on the **Train** page.")
    else:
        st.altair_chart(staircase_chart(stairs), width="stretch")
    broken = runs[runs["error"].notna()]
    for row in broken.itertuples():
        st.warning(f"**{row.name}** cannot be used: {row.error}")
    st.dataframe(
        runs if len(broken) else runs.drop(columns="error"),
        hide_index=True,
        column_config={
            "params": st.column_config.NumberColumn("parameters", format="localized"),
            "test_accuracy": st.column_config.NumberColumn("accuracy", format="percent"),
            "train_seconds": st.column_config.NumberColumn("training time (s)", format="%.1f"),
        },
        key="exp_runs_table",
    )


def run_chooser(names: list[str], key: str) -> list[str]:
    remembered(key)
    if key not in st.session_state:
        st.session_state[key] = names[:4]
    else:  # runs deleted since they were chosen
        st.session_state[key] = [n for n in st.session_state[key] if n in names]
    chosen = st.multiselect("Runs to compare (2-4)", names, max_selections=4, key=key)
    return remember(key, chosen)


def curves(frame: pd.DataFrame) -> None:
    if frame.empty:
        st.info("Choose runs with a training history to compare.")
        return
    left, right = st.columns(2)
    left.altair_chart(curve_chart(frame, "loss"), width="stretch")
    right.altair_chart(curve_chart(frame, "accuracy"), width="stretch")
    st.caption(
        "Solid: training; dashed: validation (for runs that held out a validation set). Loss on a log scale."
    )


def errors(report, test_images) -> None:
    st.metric("Test accuracy", f"{report.accuracy:.2%}", help=f"{report.total:,} test images")
    left, right = st.columns(2)
    left.markdown("**Confusion matrix** (rows: true digit; columns: predicted)")
    left.altair_chart(confusion_chart(report.confusion_frame()), width="stretch")
    right.markdown("**Accuracy per digit**")
    per_class = pd.DataFrame({"digit": range(len(report.per_class)), "accuracy": report.per_class})
    right.altair_chart(per_class_chart(per_class, ["accuracy"]), width="stretch")
    st.markdown(
        f"**The most confident mistakes** ({len(report.mistakes):,} in all): true → predicted (confidence)"
    )
    top = report.mistakes.head(GALLERY_SIZE)
    if top.empty:
        st.success("No mistakes on the test set.")
        return
    st.image(
        [test_images[i] for i in top["index"]],
        caption=[
            f"{t} → {p} ({c:.0%})"
            for t, p, c in zip(top["true"], top["predicted"], top["confidence"], strict=True)
        ],
        width=72,
    )


def similarity(result, images, ideal) -> None:
    n = len(result.labels)
    st.markdown(
        f"{n} test images ({n // 10} of each digit, fixed seed), ordered 0 to 9. Each RDM holds 1 − Pearson "
        "correlation between the activation patterns of every pair of images; colour: percentile "
        "within the RDM (dark = similar, yellow = dissimilar)."
    )
    names, images = [*result.names, "digit category (ideal)"], [*images, ideal]
    for start in range(0, len(names), RDM_COLUMNS):
        columns = st.columns(RDM_COLUMNS)
        for column, name, image in zip(columns, names[start:], images[start:], strict=False):
            column.image(image, caption=name, width="stretch")
    st.markdown("**Category structure emerging with depth** (rsatoolbox, Spearman correlation of RDMs)")
    st.altair_chart(rsa_chart(result.table()), width="stretch")


def lesion_inputs(layers: dict[str, int], key: str) -> tuple[str | None, tuple[int, ...], bool]:
    """The layer, the units to silence, and whether to silence each unit in turn."""
    if not layers:
        st.info("This model has no hidden Dense or Conv2D layer to lesion.")
        return None, (), False
    remembered(f"{key}_layer")
    layer = st.selectbox(
        "Layer",
        list(layers),
        key=f"{key}_layer",
        format_func=lambda n: f"{n} ({layers[n]} {'channels' if 'conv' in n else 'units'})",
    )
    remember(f"{key}_layer", layer)
    units_key = f"{key}_{layer}_units"
    remembered(units_key)
    units = remember(units_key, st.multiselect("Units to silence", list(range(layers[layer])), key=units_key))
    remembered("exp_lesion_sweep")
    sweep = st.toggle(
        "Also silence each unit alone",
        key="exp_lesion_sweep",
        help="One pass over the 10,000 test images per unit: about a second each for a small CNN.",
    )
    return layer, tuple(units), remember("exp_lesion_sweep", sweep)


def lesion(intact, result, sweep: pd.DataFrame | None) -> None:
    """Accuracy before and after a lesion, per digit; optionally each unit's own effect."""
    left, right = st.columns(2)
    left.metric("Intact", f"{intact.accuracy:.2%}")
    if result is None:
        right.info("Choose units to silence: their output is set to 0 for every test image.")
    else:
        right.metric(
            f"{len(result.silenced)} unit(s) of {result.layer} silenced",
            f"{result.lesioned.accuracy:.2%}",
            delta=f"{-result.drop:+.2%}",
        )
        st.altair_chart(
            per_class_chart(result.per_class(), ["intact", "lesioned"], from_zero=True), width="stretch"
        )
    if sweep is not None:
        st.markdown("**Each unit silenced alone**: drop in test accuracy")
        st.altair_chart(unit_lesion_chart(sweep, intact.accuracy), width="stretch")
