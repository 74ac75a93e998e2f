"""Room: the projector's view of a lecture hall taking part. Open a room, show how to join
(address and QR code), ask for a digit; live, the room's drawings grouped by what each
network read, the room's own staircase, its confusion matrices and the drawings every
network gets wrong."""

import socket

import streamlit as st

from app_pages import room_views
from app_pages.room_common import room_store
from dnnlab import room, room_analysis, room_join
from dnnlab.safe_text import escape_markdown

REFRESH_SECONDS = 3
VIEWS = ["Wall", "Staircase", "Confusion", "Missed by every network"]


def open_room() -> None:
    st.query_params["room"] = room_store().open_room().code


def close_room(code: str) -> None:
    room_store().close_room(code)
    st.query_params.pop("room", None)


def ask(code: str) -> None:
    room_store().ask(code, st.session_state["room_asked"])


def open_code() -> str | None:
    """The room in the URL, if it is open (the URL keeps it through a reload)."""
    try:
        code = room.valid_code(st.query_params.get("room", ""))
    except room.RoomError:
        return None
    return code if room_store().room(code) else None


def controls(code: str) -> None:
    """How to join, what to draw, and what to do with the room's digits."""
    default = f"http://{socket.gethostname()}:{st.get_option('server.port')}"
    typed = st.text_input("The address phones reach this server at", value=default, key="room_address")
    try:
        url = room_join.join_url(typed, code)
    except room.RoomError as e:
        st.error(escape_markdown(e))
    else:
        st.image(room_join.qr_png(url), width=300, output_format="PNG", alt=f"QR code of {url}")
        st.markdown(f"Scan, or open **{escape_markdown(url)}** · room code **{code}**")
    st.segmented_control(
        "Ask the room for", range(10), key="room_asked", on_change=ask, args=(code,), wrap=True
    )
    drawings = room_store().drawings(code)
    st.download_button(
        "Download the digits (MNIST .npz)",
        room_analysis.mnist_npz(drawings),
        file_name=f"room-{code}.npz",
        help="x_train, y_train, x_test, y_test as in MNIST's own file: half the drawings each, at random",
        disabled=not drawings,
        icon=":material/download:",
    )
    with st.popover("Clear or close the room", icon=":material/delete:"):
        st.button("Delete every drawing, keep the room open", on_click=room_store().clear, args=(code,))
        st.button("Close the room and delete everything", on_click=close_room, args=(code,))


@st.fragment(run_every=REFRESH_SECONDS)
def live(code: str) -> None:
    """What the room has sent, refreshed every few seconds."""
    store = room_store()
    if store.room(code) is None:
        st.warning("This room has closed or expired: open a new one.")
        return
    drawings = room_views.room_drawings(code)
    counts = st.container(horizontal=True)
    counts.metric("Phones connected", store.connected(code), width="content")
    counts.metric("Drawings", len(drawings), width="content")
    if not drawings:
        st.info("Waiting for the first drawing: scan the QR code with a phone's camera.")
        return
    networks = room_analysis.networks_in(drawings)
    view = st.segmented_control("Show", VIEWS, default=VIEWS[0], key="room_view") or VIEWS[0]
    if view == "Wall":
        room_views.wall(drawings, networks)
    elif view == "Staircase":
        room_views.staircase(drawings)
    elif view == "Confusion":
        room_views.confusions(drawings, networks)
    else:
        room_views.missed(drawings)


st.title("Room")
code = open_code()
if code is None:
    st.caption("Students draw digits on their phones; the networks read them; the projector shows it all.")
    st.button("Open a room", type="primary", on_click=open_room, icon=":material/groups:")
    st.stop()
left, right = st.columns([1, 2], gap="large")
with left:
    controls(code)
with right:
    live(code)
