"""Model page: a network's layers, weights, activations for one digit, and tuning curves."""

from __future__ import annotations

import streamlit as st

from app_pages.common import mnist, model_picker, saved_model
from app_pages.presentation import is_presenting
from dnnlab import charts, inspection, probes, registry
from dnnlab.architectures import PRESETS, ModelSpec, build_model, preset_spec
from dnnlab.safe_text import escape_markdown

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


@st.cache_data(max_entries=16, show_spinner="Recording every unit's response to the 10,000 test digits…")
def tuning(key: tuple, _probe: probes.Probe) -> dict:
    _, (x_test, y_test) = mnist().arrays
    return inspection.tuning_matrices(_probe, x_test, y_test)


@st.cache_data(max_entries=16, show_spinner="Finding units that never fire on the training digits…")
def dead(key: tuple, _probe: probes.Probe) -> str:
    x_train = mnist().arrays[0][0]
    return inspection.dead_units_text(inspection.dead_units(_probe, x_train), len(x_train))


def chart(figure, width: str = "stretch") -> None:
    st.altair_chart(charts.for_projector(figure) if is_presenting() else figure, width=width)


def show(picture: charts.Picture) -> None:
    st.markdown(f"**{escape_markdown(picture.title)}**")  # layer names come from the model file
    if picture.image is not None:
        st.image(picture.image, caption=picture.caption or None)
    else:
        chart(picture.chart)


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


def layers_tab(model, network, key, choice, normalise) -> None:
    st.dataframe(
        charts.layer_table(model, network.spec),
        hide_index=True,
        column_config={"Param #": st.column_config.NumberColumn(format="localized")},
    )
    st.markdown(f"**{inspection.totals_text(model)}**")
    st.image(charts.diagram_svg(model, network.spec))


def weights_tab(model, network, key, choice, normalise) -> None:
    for picture in charts.weight_pictures(model):
        show(picture)


def activations_tab(model, network, key, choice, normalise) -> None:
    _, (x_test, y_test) = mnist().arrays
    image, description = choice.resolve(x_test, y_test, st.session_state.get("last_drawing"))
    if image is None:
        st.info(description)
        return
    acts = network.activations(image)
    st.markdown(f"Input: {description}; the network answers **{int(acts[-1][2].argmax())}**.")
    st.image(charts.input_picture(image), caption="the 28×28 input")
    for picture in charts.activation_pictures(acts):
        show(picture)


def tuning_tab(model, network, key, choice, normalise) -> None:
    st.markdown(
        "Each unit's mean activation for each digit class over the 10,000 test images "
        "(a convolution channel's map averaged over space): its tuning curve, one row per unit."
    )
    chart(charts.tuning_chart(tuning(key, network), normalise), width="content")
    st.caption(escape_markdown(dead(key, network), max_chars=2000))  # layer names from the file


TABS = {"Layers": layers_tab, "Weights": weights_tab, "Activations": activations_tab, "Tuning": tuning_tab}

st.title("Model")
st.caption("What each layer holds: its shape, its weights, its responses to one digit, and its tuning.")
name, saved, choice, normalise = sidebar()
if name is None:
    st.stop()
model, network, key = load(name, saved)
# Only the open tab runs (on_change="rerun"), so each part costs only its own time.
for tab, render in zip(st.tabs(list(TABS), key="mp_tab", on_change="rerun"), TABS.values(), strict=True):
    if tab.open:
        with tab:
            render(model, network, key, choice, normalise)
