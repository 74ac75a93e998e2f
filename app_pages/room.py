"""Room: the projector's view of a lecture hall taking part. Open a room, show how to join
(address and QR code), ask for a digit; live, the room's drawings grouped by what each
network read, the room's own staircase, its confusion matrices and the drawings every
network gets wrong."""

import streamlit as st

from app_pages import room_views
from app_pages.room_common import open_code, room_store, talk_networks
from app_pages.room_controls import controls
from dnnlab import room_analysis

REFRESH_SECONDS = 3
VIEWS = ["Wall", "Staircase", "Confusion", "Missed by every network"]


def open_room() -> None:
    st.query_params["room"] = room_store().open_room().code


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
# Loaded and traced once per process while the lecturer opens the room, after the QR code
# is on screen: otherwise the first phones to join wait seconds for it, all at once.
talk_networks()
