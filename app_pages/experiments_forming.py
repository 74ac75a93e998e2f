"""Experiments → Representations: the chosen model's layers as it learned (`dnnlab.snapshots`).

A slider over the snapshots saved with the model: the last hidden layer's 100 fixed test
images as points coloured by digit, and every layer's RDM at that moment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.experiments_sections import RDM_COLUMNS, place
from dnnlab import charts, registry
from dnnlab.safe_text import escape_markdown


@st.cache_data(max_entries=16, show_spinner=False)
def _snapshots(name: str, stamp: int):
    """(Snapshots or None, why they cannot be shown or None), cached per saved file."""
    try:
        return registry.load_snapshots(name), None
    except registry.RegistryError as e:
        return None, str(e)


def _label(snapshots, i: int) -> str:
    return f"epoch {snapshots.epoch[i]:.2f} · step {snapshots.step[i]:,}"


def show(name: str) -> None:
    st.subheader("Representations forming during training")
    snapshots, error = _snapshots(name, registry.stamp(name))
    if error:
        st.warning(escape_markdown(error))
        return
    if snapshots is None:
        st.info(
            "This model was saved without training snapshots. Train it on the **Train** page "
            "(snapshots are on there) and save it, or with `training.train(..., snapshots=True)`."
        )
        return
    st.caption(
        "While it trained, the network saw 100 fixed test images (10 of each digit) at the start, "
        "a few times in the first epoch and at each epoch's end: slide to watch the digits pull apart. "
        f"Points: {escape_markdown(snapshots.embedded_layer)} projected on the trained layer's two "
        "principal axes (one projection for every snapshot, each scaled to the same spread)."
    )
    i = st.select_slider(
        "Snapshot", range(len(snapshots)), value=len(snapshots) - 1,
        format_func=lambda i: _label(snapshots, i), key=f"exp_forming_{name}",
    )  # fmt: skip
    separation = snapshots.separation()
    st.markdown(
        f"**{_label(snapshots, i)}**: between-digit over within-digit dissimilarity "
        f"{separation[i]:.2f} (before training {separation[0]:.2f}, at the end {separation[-1]:.2f})."
    )
    points = snapshots.embedding[i]
    frame = pd.DataFrame({"x": points[:, 0], "y": points[:, 1], "digit": snapshots.labels.astype(int)})
    place(st, charts.embedding_chart(frame, float(np.abs(snapshots.embedding).max()) * 1.05))
    layers = list(snapshots.layers)
    for start in range(0, len(layers), RDM_COLUMNS):
        for column, layer in zip(st.columns(RDM_COLUMNS), layers[start:], strict=False):
            column.image(charts.rdm_image(snapshots.rdm(i, layer)), caption=layer, width="stretch")
