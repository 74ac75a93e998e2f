"""The Room page's live views of what the room sent: the wall of drawings grouped by what a
network read, the room's staircase, its confusion matrices, the drawings every network
missed. Each takes the room's drawings and places what `dnnlab` computes from them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.common import usable_models
from app_pages.room_common import room_store
from dnnlab import room, room_analysis
from dnnlab.charts import room as room_charts

WALL_PER_DIGIT = 48  # the latest drawings of each reading: three rows of sixteen on a projector
MISSED_SHOWN = 40  # the latest drawings no network read: a projector shows a few dozen at most


def room_drawings(code: str) -> list[room.Drawing]:
    """The room's drawings; each refresh fetches only those sent since the last one
    (all of them again if the room was cleared meanwhile)."""
    store, generation = room_store(), room_store().room(code).generation
    cached_code, cached_generation, known = st.session_state.get("room_drawings", (None, None, []))
    if (cached_code, cached_generation) != (code, generation):
        known = []
    known = known + store.drawings(code, after=known[-1].number if known else 0)
    st.session_state["room_drawings"] = (code, generation, known)
    return known


def wall(drawings: list[room.Drawing], networks: list[str]) -> None:
    network = st.segmented_control("Grouped by what this network read", networks, key="room_wall_by")
    network = network or networks[-1]
    for digit, group in room_analysis.wall(drawings, network).items():
        wrong = sum(d.intended != digit for d in group)
        latest = group[-WALL_PER_DIGIT:]
        st.image(
            room_charts.thumbnails(
                np.stack([d.image28 for d in latest]), [d.intended != digit for d in latest]
            ),
            caption=f"{network} read {digit}: {len(group)} drawings, {wrong} meant otherwise"
            + (f" (the latest {len(latest)} shown)" if len(latest) < len(group) else ""),
            output_format="PNG",
        )


def staircase(drawings: list[room.Drawing]) -> None:
    """The room's accuracy per network beside each network's accuracy on MNIST's test set."""
    table = room_analysis.accuracy(drawings)
    tested = {i.name: i.test_accuracy for i in usable_models() if i.test_accuracy is not None}
    table["mnist"] = table["network"].map(tested).astype(float)
    st.altair_chart(room_charts.staircase_chart(table), width="stretch")
    st.dataframe(pd.DataFrame(table), hide_index=True)


def confusions(drawings: list[room.Drawing], networks: list[str]) -> None:
    with st.container(horizontal=True):
        for network in networks:
            chart = room_charts.confusion_chart(room_analysis.confusion(drawings, network), network)
            st.altair_chart(chart, width="content")


def missed(drawings: list[room.Drawing]) -> None:
    missed = room_analysis.missed_by_all(drawings)
    if not missed:
        st.success("Every drawing was read right by at least one network.")
    for d in missed[-MISSED_SHOWN:]:
        reads = ", ".join(f"{r.network} {r.digit}" for r in d.readings)
        st.image(
            room_charts.thumbnails(d.image28, [True], scale=4),
            caption=f"meant {d.intended}; {reads}",
            output_format="PNG",
        )
