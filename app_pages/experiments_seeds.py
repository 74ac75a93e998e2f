"""The Participants tab's third view: seeds as a noise ceiling for telling networks apart."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import experiments_sections as view
from dnnlab import charts, compare


def seeds(
    runs: pd.DataFrame,
    logit_ranks: Callable[[str], np.ndarray],
    answers: Callable[[list[str]], dict[str, np.ndarray]],
) -> None:
    """Between-seed vs between-architecture similarity over every run of the talk's presets,
    from each run's cached logits RDM (as ranks) and right/wrong answers."""
    talk = view.talk_runs(runs)
    groups = dict(zip(talk["name"], talk["preset"], strict=True))
    if not (talk["preset"].value_counts() >= 2).any():
        st.info("Train a preset with two or more seeds (Train page, seed field) to see runs differ.")
        return
    names = list(groups)
    st.markdown(
        f"All {len(names)} runs of the talk's presets. Two runs of one preset differ only in their "
        "random start and batch order: how alike they are is the ceiling for telling networks apart."
    )
    logits = compare.output_rsa_matrix({n: logit_ranks(n) for n in names})
    kappa = compare.kappa_matrix(answers(names))
    order = [p for p in charts.TALK_PRESETS if p in set(groups.values())]
    for column, (title, matrix) in zip(
        st.columns(2),
        (("RSA of the logits (Spearman's ρ)", logits), ("error consistency (Cohen's κ)", kappa)),
        strict=True,
    ):
        pairs = compare.pairs(matrix, groups)
        means = pairs.groupby("kind")["similarity"].mean()
        column.metric(
            title,
            f"{means.get(compare.BETWEEN_SEEDS, np.nan):.2f} between seeds",
            f"{means.get(compare.BETWEEN_ARCHITECTURES, np.nan):.2f} between architectures",
            delta_color="off",
        )
        view.place(column, charts.seed_ceiling_chart(pairs, title))
        view.place(column, charts.similarity_matrix_chart(compare.group_means(pairs, order), order, title))
    st.caption(
        "Diagonal cells: the mean between seeds of one preset; the others: between two presets. "
        "A pair of presets is told apart only where its cell is below both presets' diagonal cells."
    )
