"""What the Room page (projector) and the Join page (phones) share: the room database and
the talk's networks, each loaded once per server process."""

from __future__ import annotations

import functools

import streamlit as st

from app_pages import canvas
from app_pages.common import saved_model, usable_models
from dnnlab import registry, room, room_analysis
from dnnlab.config import ModelSpec


@st.cache_resource
def _store(url: str) -> room.Store:
    return room.Store(url)


def room_store() -> room.Store:
    """The room database (`DNNLAB_ROOM_DB`), one connection per thread of this process."""
    return _store(room.default_url())


def open_code() -> str | None:
    """The room in the URL (`?room=`), if it is open: the URL keeps it through a reload."""
    try:
        code = room.valid_code(st.query_params.get("room", ""))
    except room.RoomError:
        return None
    return code if room_store().room(code) else None


def talk_networks() -> dict:
    """The talk's networks that are saved here, in the talk's order: name → (model, spec).

    Once per process, traced for single samples before the first phone needs them; looked
    up again after 30 s, so a preset retrained during the lecture is picked up (listing the
    models on every stroke of every phone cost ~9 ms each).
    """
    return _talk_networks(str(registry.models_dir()))


@st.cache_resource(ttl=30, show_spinner="Loading the talk's networks…")
def _talk_networks(folder: str) -> dict:
    """`talk_networks` of one models folder: a change of folder is not served the old ones."""
    saved = {info.name for info in usable_models()}
    networks = {}
    for name in (n for n in room.TALK_NETWORKS if n in saved):
        model, meta = saved_model(name)
        networks[name] = (model, ModelSpec.from_dict(meta["spec"]))
    room_analysis.warm_up(networks)
    return networks


# The width the page gives the canvas, measured in the phone's browser: the server
# cannot know the screen. Reported again only when it changes (a phone turned sideways).
WIDTH_JS = """
export default function ({ parentElement, setStateValue, data }) {
  // The component's root is a shadow root (isolated styles): its host is the element.
  const element = parentElement instanceof ShadowRoot ? parentElement.host : parentElement;
  const report = () => {
    const width = Math.floor(element.getBoundingClientRect().width);
    if (width > 0 && width !== data) setStateValue('width', width);
  };
  report();
  const observer = new ResizeObserver(report);
  observer.observe(element);
  return () => observer.disconnect();
}
"""


@functools.cache
def _width_component():
    return st.components.v2.component("dnnlab.join_width", js=WIDTH_JS)


def canvas_side() -> int:
    """The screen's width for the canvas (280 until the phone has said), within reason."""
    known = st.session_state.get("join_width_px")
    width = _width_component()(key="join_width", data=known, on_width_change=lambda: None).width or known
    st.session_state["join_width_px"] = width
    return max(240, min(int(width or canvas.CANVAS_SIDE), 560))
