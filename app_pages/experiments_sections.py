"""The Experiments page's sections: widgets for their inputs, and where `dnnlab.charts` goes."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.presentation import is_presenting
from dnnlab import charts, registry, rsa
from dnnlab.safe_text import escape_markdown

GALLERY_SIZE = 24
RDM_COLUMNS = 4
MAX_CURVES = 8


def place(container, chart) -> None:
    """An Altair chart at the page's width, enlarged for the back row when presenting."""
    container.altair_chart(charts.for_projector(chart) if is_presenting() else chart, width="stretch")


def remembered(key: str) -> None:
    """Restore a widget's value after its tab was hidden (Streamlit drops unrendered widgets' state)."""
    if key not in st.session_state and f"_{key}" in st.session_state:
        st.session_state[key] = st.session_state[f"_{key}"]


def remember(key: str, value):
    st.session_state[f"_{key}"] = value
    return value


def chosen_runs(
    label: str, names: list[str], default: list[str], key: str, limit: int | None = None
) -> list[str]:
    """A multiselect of runs that keeps its choice across tabs and drops deleted runs."""
    remembered(key)
    if key not in st.session_state:
        st.session_state[key] = default
    else:
        st.session_state[key] = [n for n in st.session_state[key] if n in names]
    return remember(key, st.multiselect(label, names, max_selections=limit, key=key))


def talk_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Usable runs of the talk's presets."""
    return runs[runs["error"].isna() & runs["preset"].isin(charts.TALK_PRESETS)]


def latest_per_preset(runs: pd.DataFrame) -> list[str]:
    """The newest run of each talk preset, in the talk's order."""
    talk = talk_runs(runs).assign(created=lambda t: t["created"].fillna(""))
    latest = talk.sort_values(["created", "name"]).groupby("preset").tail(1).set_index("preset")["name"]
    return [latest[p] for p in charts.TALK_PRESETS if p in latest]


def staircase(stairs: pd.DataFrame, runs: pd.DataFrame) -> None:
    names = list(stairs["name"])
    default = [n for n in talk_runs(runs)["name"] if n in names]
    shown = chosen_runs("Runs on the staircase", names, default, key="exp_stair_runs")
    st.markdown(
        "Test accuracy per preset in the talk's order: the bar and its label are the mean of the "
        "chosen runs (seeds), dots the runs, the line their range; short black ticks: the talk's figures."
    )
    if stairs.empty or not shown:
        st.info("No model with a test accuracy chosen: train one on the **Train** page, or choose runs.")
    else:
        place(st, charts.staircase_chart(stairs[stairs["name"].isin(shown)]))
    broken = runs[runs["error"].notna()]
    for row in broken.itertuples():
        st.warning(f"**{escape_markdown(row.name)}** cannot be used: {escape_markdown(row.error)}")
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
    delete_run([name for name in runs["name"] if not registry.shipped(name)])


def delete_run(names: list[str]) -> None:
    """Delete a saved run, after a second click that names it."""
    with st.expander("Delete a saved run"):
        name = st.selectbox("Run", names, index=None, key="exp_delete_name", placeholder="Choose a run")
        if name is None:
            return
        st.warning(f"**{escape_markdown(name)}** will be removed from the models folder for everyone.")
        if st.button(f"Delete {escape_markdown(name)} for good", key="exp_delete_confirm", type="primary"):
            try:
                registry.delete(name)
            except registry.RegistryError as e:
                st.error(f"Not deleted: {escape_markdown(e)}")
                return
            st.session_state.pop("exp_delete_name", None)
            st.rerun()


def curves(frame: pd.DataFrame, presets: dict[str, str]) -> None:
    if frame.empty:
        st.info("Choose runs with a training history to compare.")
        return
    frame = frame.assign(preset=frame["run"].map(presets))
    left, right = st.columns(2)
    place(left, charts.curve_chart(frame, "loss"))
    place(right, charts.curve_chart(frame, "accuracy"))
    st.caption(
        "Colour: preset; solid: training; dashed: validation (for runs that held out a validation set). "
        "Loss on a log scale. Remove a run from the list to hide it."
    )


def errors(report, test_images) -> None:
    st.metric("Test accuracy", f"{report.accuracy:.2%}", help=f"{report.total:,} test images")
    left, right = st.columns(2)
    left.markdown("**Confusion matrix** (rows: true digit; columns: predicted)")
    place(left, charts.confusion_chart(report.confusion_frame()))
    right.markdown("**Accuracy per digit**")
    per_class = pd.DataFrame({"digit": range(len(report.per_class)), "accuracy": report.per_class})
    place(right, charts.per_class_chart(per_class, ["accuracy"]))
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
    measure = rsa.METHODS[result.method]
    st.markdown(
        f"**Category structure emerging with depth** (rsatoolbox, {measure} between RDMs; bars: 95% "
        f"intervals over {result.resamples} resamples of the images within each digit). The dashed line "
        "is the ceiling: what a perfect category RDM scores against these images."
    )
    place(st, charts.rsa_chart(result.table(), measure))


def rsa_method(key: str = "exp_rsa_method") -> str:
    remembered(key)
    method = st.radio(
        "Compare RDMs by", list(rsa.METHODS), format_func=rsa.METHODS.get, horizontal=True, key=key
    )
    return remember(key, method)


def lesion_inputs(
    layers: dict[str, int], key: str, dead: dict[str, list[int]] | None = None
) -> tuple[str | None, tuple[int, ...], bool]:
    """The layer, the units to silence (dead ones, which never fire, marked), and whether to
    silence each unit in turn."""
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
    never = set((dead or {}).get(layer, ()))
    units = st.multiselect(
        "Units to silence",
        list(range(layers[layer])),
        key=units_key,
        format_func=lambda u: f"{u} (dead: never fires)" if u in never else str(u),
    )
    units = remember(units_key, units)
    if never:
        st.caption(
            f"Dead units of {layer}, which never fire on the 60,000 training digits: "
            f"{', '.join(map(str, sorted(never)))}. Silencing them changes nothing."
        )
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
            f"{len(result.silenced)} unit(s) of {escape_markdown(result.layer)} silenced",
            f"{result.lesioned.accuracy:.2%}",
            delta=f"{-result.drop:+.2%}",
        )
        place(st, charts.per_class_chart(result.per_class(), ["intact", "lesioned"], from_zero=True))
    if sweep is not None:
        st.markdown("**Each unit silenced alone**: drop in test accuracy")
        place(st, charts.unit_lesion_chart(sweep, intact.accuracy))
