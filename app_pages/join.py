"""Join: a student's phone in the room. Draw the digit asked for, see what the talk's
networks read, send it to the projector. Nothing is kept until the student sends."""

import numpy as np
import streamlit as st

from app_pages import canvas
from app_pages.room_common import canvas_side, room_store, talk_networks
from dnnlab import images, room, room_analysis
from dnnlab.safe_text import escape_markdown

BIG_BUTTONS = """<style>
.stMainBlockContainer button { min-height: 3.2rem; font-size: 1.25rem; }
.stMainBlockContainer button p { font-size: 1.25rem; }
</style>"""


def send(code: str) -> None:
    """The Send button: store the drawing read last (once, whatever the taps), start anew."""
    pending = st.session_state.pop("join_pending", None)
    if pending is None:
        return
    try:
        room_store().add(code, pending)
        st.session_state["join_sent"] = pending.intended
        st.session_state["join_version"] = st.session_state.get("join_version", 0) + 1
    except room.RoomError as e:
        st.session_state["join_error"] = str(e)


def read_once(image: np.ndarray):
    """(28×28 image, readings, canvas PNG) of this drawing, computed once however many
    reruns show it (picking the digit, tapping Send)."""
    cached = st.session_state.get("join_read")
    if cached is None or not np.array_equal(cached[0], image):
        image28, readings = room_analysis.read_with_networks(talk_networks(), image)
        cached = (np.array(image), image28, readings, room_analysis.canvas_png(image))
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
        image28, readings, png = read_once(image)
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
    st.session_state["join_pending"] = room.Drawing(
        st.session_state.setdefault(f"join_key_{version}", room.new_token()),
        int(meant),
        image28,
        png,
        readings,
    )
    st.button(
        f"Send my {meant}",
        type="primary",
        width="stretch",
        on_click=send,
        args=(code,),
        icon=":material/send:",
    )


@st.fragment(run_every=room.CONNECTED_WINDOW / 3)
def heartbeat(code: str) -> None:
    """Counts this phone as connected while the page is open, drawing or not."""
    room_store().seen(code, st.session_state["join_phone"])


def open_room_in_url() -> str | None:
    try:
        code = room.valid_code(st.query_params.get("room", ""))
    except room.RoomError:
        return None
    return code if room_store().room(code) else None


def go_to_typed_room() -> None:
    st.query_params["room"] = st.session_state["join_code"].strip().upper()


st.session_state.setdefault("join_phone", room.new_token())
code = open_room_in_url()
if code is None:
    st.title("Join the room")
    if st.query_params.get("room"):
        st.warning("No open room has this code (closed, expired or mistyped): check the projector.")
    st.text_input(
        "Room code (on the projector)",
        max_chars=room.CODE_LENGTH,
        key="join_code",
        on_change=go_to_typed_room,
    )
    st.stop()
st.html(BIG_BUTTONS)
st.subheader(f"Room {code}")
heartbeat(code)
phone(code, canvas_side())
