"""Model page: a network's layers, weights, activations for one digit, and tuning curves."""

from __future__ import annotations

import streamlit as st

from app_pages import model_tabs as tabs
from app_pages.common import model_picker, saved_model
from dnnlab import inspection, probes, registry
from dnnlab.architectures import PRESETS, ModelSpec, build_model, preset_spec

SOURCES = {"class": "Test digit by class", "index": "Test digit by index", "drawing": "Last drawing"}


def sidebar() -> tuple[str | None, bool, inspection.InputChoice, bool]:
    """(model or preset name, saved?, which input image, normalise the tuning?)."""
    with st.sidebar:
        saved = st.radio("Network", ["Saved model", "Untrained preset"], key="mp_kind") == "Saved model"
        if saved:
            name = model_picker("mp_model")
        else:
            name = st.selectbox(
                "Preset", list(PRESETS), key="mp_preset", format_func=lambda n: PRESETS[n].title
            )
        source = st.radio("Input image", list(SOURCES), format_func=SOURCES.get, key="mp_source")
        digit = st.selectbox("Digit", range(10), key="mp_digit") if source == "class" else 0
        nth = st.number_input("Which example", 0, 999, key="mp_nth") if source == "class" else 0
        index = st.number_input("Test image index", 0, 9999, key="mp_index") if source == "index" else 0
        normalise = st.checkbox("Normalise each unit's tuning to its peak", key="mp_normalise")
    return name, saved, inspection.InputChoice(source, int(index), int(digit), int(nth)), normalise


@st.cache_resource(max_entries=8)
def untrained(preset: str):
    return build_model(preset_spec(preset))


def load(name: str, saved: bool) -> tuple:
    """(model, probe, cache key): the key is the saved model's name and stamp, or the built model."""
    if saved:
        model, meta = saved_model(name)
        spec, key = ModelSpec.from_dict(meta["spec"]), (name, registry.stamp(name))
    else:
        model, spec = untrained(name), preset_spec(name)
        key = (f"untrained {name}", id(model))  # a rebuilt model has new weights
        st.info("An untrained network: its weights are random, as Keras initialised them.")
    return model, probes.probe(model, spec), key  # one probe per (cached) model object


st.title("Model")
st.caption("What each layer holds: its shape, its weights, its responses to one digit, and its tuning.")
name, saved, choice, normalise = sidebar()
if name is None:
    st.stop()
model, network, key = load(name, saved)
# Only the open tab runs (on_change="rerun"), so each part costs only its own time.
for tab, render in zip(
    st.tabs(list(tabs.TABS), key="mp_tab", on_change="rerun"), tabs.TABS.values(), strict=True
):
    if tab.open:
        with tab:
            render(model, network, key, choice, normalise)
