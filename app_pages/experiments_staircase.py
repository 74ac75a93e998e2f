"""Experiments → Staircase: the runs chosen, the chart and table, deleting a run."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.experiments_sections import chosen_runs, place, talk_runs
from dnnlab import charts, registry
from dnnlab.safe_text import escape_markdown


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
