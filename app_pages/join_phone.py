"""The Join page's phone: the canvas, what the talk's networks read in the drawing, the
digit the student meant, and Send. A stroke reruns only this fragment; each drawing is
read once however many reruns show it, and stored once however many taps send it."""

import dataclasses

import numpy as np
import streamlit as st

from app_pages import canvas
from app_pages.room_common import room_store, talk_networks
from dnnlab import images, room, room_analysis
from dnnlab.safe_text import escape_markdown


def send(code: str) -> None:
    """The Send button: store the drawing read last (once, whatever the taps), start anew."""
    pending = st.session_state.pop("join_pending", None)
    if pending is None:
        return
    # The canvas PNG (2 ms) is made once, for the drawing sent, not after every stroke.
    drawing, canvas_image = pending
    pending = dataclasses.replace(drawing, png=room_analysis.canvas_png(canvas_image))
    try:
        room_store().add(code, pending)
        st.session_state["join_sent"] = pending.intended
        st.session_state["join_version"] = st.session_state.get("join_version", 0) + 1
    except room.RoomError as e:
        st.session_state["join_error"] = str(e)


def read_once(image: np.ndarray):
    """(28×28 image, readings) of this drawing, computed once however many reruns show it
    (picking the digit, tapping Send)."""
    cached = st.session_state.get("join_read")
    if cached is None or not np.array_equal(cached[0], image):
        cached = (np.array(image), *room_analysis.read_with_networks(talk_networks(), image))
        st.session_state["join_read"] = cached
    return cached[1:]


@st.fragment
def phone(code: str, side: int) -> None:
    """Canvas, readings and Send: a stroke reruns only this fragment."""
    store, version = room_store(), st.session_state.setdefault("join_version", 0)
    if (error := st.session_state.pop("join_error", None)) is not None:
        st.error(escape_markdown(error))
    elif (sent := st.session_state.pop("join_sent", None)) is not None:
        st.success(f"Sent your {sent}: it is on the projector. Draw another!")
    current = store.room(code)
    asked = current.asked if current else None
    st.markdown(f"#### Draw a **{asked}**" if asked is not None else "#### Draw a digit")
    image = canvas.draw_canvas(key=f"join_canvas_{version}", thick=True, side=side)
    try:
        if image is None:
            talk_networks()  # loaded and warmed up while the student starts drawing
            raise images.BlankImageError("nothing drawn yet")
        image28, readings = read_once(image)
    except images.BlankImageError:
        st.info("Draw your digit with a finger on the black square.")
        return
    with st.container(horizontal=True):
        for r in readings:
            st.metric(r.network, r.digit, help=f"{r.confidence:.0%} sure", width="content")
    meant = st.segmented_control(
        "I drew a", range(10), default=asked, key=f"join_meant_{version}_{asked}", wrap=True
    )
    if meant is None:
        st.warning("Pick the digit you meant, then send.")
        return
    key = st.session_state.setdefault(f"join_key_{version}", room.new_token())
    st.session_state["join_pending"] = (room.Drawing(key, int(meant), image28, b"", readings), image)
    st.button(
        f"Send my {meant}",
        type="primary",
        width="stretch",
        on_click=send,
        args=(code,),
        icon=":material/send:",
    )
