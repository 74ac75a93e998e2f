"""The Model page's four tabs: layers, weights, activations for one digit, and tuning."""

from __future__ import annotations

import streamlit as st

from app_pages.common import mnist
from app_pages.presentation import is_presenting
from dnnlab import charts, inspection, probes
from dnnlab.safe_text import escape_markdown


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
