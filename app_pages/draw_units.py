"""What each unit wants: its strongest test images, and the image gradient ascent draws for it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_pages.common import mnist, saved_model
from dnnlab import charts, registry, unit_wants
from dnnlab.architectures import ModelSpec
from dnnlab.probes import LOGITS, probe

SENTENCE = (
    "What each unit wants: the nine test digits that drive it most, and the image gradient"
    " ascent paints from noise to drive it (or, for the output, to be read as each digit)."
)
OUTPUT = "output: the ten digits"


def _probe(name: str):
    model, meta = saved_model(name)
    return probe(model, ModelSpec.from_dict(meta["spec"]))


@st.cache_data(max_entries=64, show_spinner="Finding each unit's strongest test images…")
def top_images(name: str, stamp: int, layer: str) -> np.ndarray:
    _, (x_test, _) = mnist().arrays
    return unit_wants.top_images(_probe(name), x_test, layer)


@st.cache_data(max_entries=64, show_spinner="Painting what each unit wants…")
def synthesised(name: str, stamp: int, target: str) -> np.ndarray:
    return unit_wants.maximise(_probe(name), target)


def show(model_name: str) -> None:
    st.caption(SENTENCE)
    try:
        p, stamp = _probe(model_name), registry.stamp(model_name)
    except registry.RegistryError as e:
        st.error(f"Cannot load the model: {e}")
        return
    layers = unit_wants.unit_layers(p)
    layer = st.selectbox("Layer", [OUTPUT, *layers], key="units_layer")
    if layer == OUTPUT:
        images = synthesised(model_name, stamp, LOGITS)
        read = unit_wants.classify(p, images)
        captions = [f"wants {d}, read as {r}" for d, r in enumerate(read)]
        st.image(charts.digit_pictures(images), caption=captions, width=84)
        return
    _, (x_test, _) = mnist().arrays
    grids = charts.top_image_pictures(x_test, top_images(model_name, stamp, layer))
    st.image(grids, caption=[f"unit {u}: top 9" for u in range(len(grids))], width=86)
    if p.spec.is_conv and next(la for la in p.layers if la.name == layer).output.ndim == 4:
        images = synthesised(model_name, stamp, layer)
        st.image(
            charts.digit_pictures(images),
            caption=[f"channel {u} wants" for u in range(len(images))],
            width=84,
        )
