"""Invariance on the Draw page: move, turn, resize, thicken the drawing; the talk's four
networks read it side by side; test accuracy against shift and rotation per saved model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from app_pages.common import mnist, saved_model, usable_models
from app_pages.presentation import is_presenting
from dnnlab import charts, inference, invariance, registry
from dnnlab.architectures import ModelSpec
from dnnlab.config import PRESETS
from dnnlab.probes import probe

SENTENCE = (
    "Shift, rotate, resize or thicken your drawing and see which networks still read it:"
    " a convolution reuses its filters wherever the stroke lands, a dense layer does not."
)


@st.cache_data(max_entries=64, show_spinner="Testing shifted and rotated digits…")
def curves(name: str, stamp: int) -> pd.DataFrame:
    """Test accuracy against shift and rotation for one saved model (cached by its stamp)."""
    model, meta = saved_model(name)
    _, (x_test, y_test) = mnist().arrays
    images, labels = x_test[: invariance.CURVE_IMAGES], y_test[: invariance.CURVE_IMAGES]
    found = invariance.accuracy_curves(probe(model, ModelSpec.from_dict(meta["spec"])), images, labels)
    return found.assign(model=name)


def sliders() -> dict:
    a, b, c, d, e = st.columns(5)
    m = invariance.MAX_SHIFT
    return {
        "dx": a.slider("Shift right (px)", -m, m, 0, key="inv_dx"),
        "dy": b.slider("Shift down (px)", -m, m, 0, key="inv_dy"),
        "angle": c.slider("Rotate (°)", -invariance.MAX_ANGLE, invariance.MAX_ANGLE, 0, 5, key="inv_angle"),
        "scale": d.slider("Scale", *invariance.SCALE_RANGE, 1.0, 0.1, key="inv_scale"),
        "thicken": e.slider("Thicken (px)", 0, invariance.MAX_THICKEN, 0, key="inv_thicken"),
    }


def show(image28: np.ndarray | None) -> None:
    st.caption(SENTENCE)
    available = [i.name for i in usable_models()]
    talk = [name for name in PRESETS if name in available]
    if image28 is not None:
        changed = invariance.transform(image28, **sliders())
        columns = st.columns(1 + len(talk))
        columns[0].image(inference.enlarged(changed, 4), caption="changed drawing", width=112)
        for column, name in zip(columns[1:], talk, strict=True):
            try:
                model, meta = saved_model(name)
            except registry.RegistryError:
                continue
            p = inference.predict_prepared(model, ModelSpec.from_dict(meta["spec"]), changed)
            column.metric(name, int(np.argmax(p)))
            column.caption(f"{p.max():.0%} sure")
    else:
        st.info("Draw a digit to shift, rotate, scale and thicken it.")
    chosen = st.multiselect(
        "Test-set accuracy against shift and rotation for", available, talk, key="inv_models"
    )
    if chosen:
        frame = pd.concat([curves(name, registry.stamp(name)) for name in chosen])
        chart = charts.invariance_chart(frame)
        st.altair_chart(charts.for_projector(chart) if is_presenting() else chart)
        st.caption(
            f"First {invariance.CURVE_IMAGES:,} test digits, shifted sideways or rotated about their centre."
        )
