"""The Room page's controls, beside the live view: how to join (the address phones reach
the server at, and its QR code), the digit asked for, the room's digits as MNIST's
.npz, and clearing or closing the room."""

import socket

import streamlit as st

from app_pages.room_common import room_store
from dnnlab import room, room_analysis, room_join
from dnnlab.safe_text import escape_markdown


def close_room(code: str) -> None:
    room_store().close_room(code)
    st.query_params.pop("room", None)


def ask(code: str) -> None:
    room_store().ask(code, st.session_state["room_asked"])


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
