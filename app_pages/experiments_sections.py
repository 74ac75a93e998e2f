"""The Experiments page's shared pieces (chart placing, remembered widgets, run choice) and
the Learning curves section; the other sections have their own `experiments_*` modules."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.presentation import is_presenting
from dnnlab import charts

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
