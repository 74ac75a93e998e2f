"""Join: a student's phone in the room. Draw the digit asked for, see what the talk's
networks read, send it to the projector. Nothing is kept until the student sends."""

import streamlit as st

from app_pages.join_phone import phone
from app_pages.room_common import canvas_side, open_code, room_store
from dnnlab import room

BIG_BUTTONS = """<style>
.stMainBlockContainer button { min-height: 3.2rem; font-size: 1.25rem; }
.stMainBlockContainer button p { font-size: 1.25rem; }
</style>"""


@st.fragment(run_every=room.CONNECTED_WINDOW / 3)
def heartbeat(code: str) -> None:
    """Counts this phone as connected while the page is open, drawing or not."""
    room_store().seen(code, st.session_state["join_phone"])


def go_to_typed_room() -> None:
    st.query_params["room"] = st.session_state["join_code"].strip().upper()


st.session_state.setdefault("join_phone", room.new_token())
code = open_code()
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
