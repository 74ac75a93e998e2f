"""Occlusion sensitivity on the Draw page: a CNN and an MLP side by side on the drawing."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_pages.common import saved_model, usable_models
from app_pages.presentation import is_presenting
from dnnlab import charts, occlusion, registry
from dnnlab.architectures import ModelSpec
from dnnlab.probes import probe

SENTENCE = (
    f"A {occlusion.PATCH}×{occlusion.PATCH} black patch slides over your drawing: red where hiding"
    " the pixels under it lowers the probability of the predicted digit, blue where it raises it"
    " (Zeiler & Fergus): what each network looks at."
)


def pair(model_name: str) -> list[str]:
    """The chosen model and the most accurate one of the other family, the CNN first."""
    infos = usable_models()
    chosen = next((i for i in infos if i.name == model_name), None)
    if chosen is None:
        return [model_name]
    others = [i for i in infos if i.spec.is_conv != chosen.spec.is_conv]
    names = [chosen.name]
    if others:
        names.append(max(others, key=lambda i: i.test_accuracy or 0).name)
    return sorted(names, key=lambda n: not next(i for i in infos if i.name == n).spec.is_conv)


def show(model_name: str, image28: np.ndarray | None) -> None:
    st.caption(SENTENCE)
    if image28 is None:
        st.info("Draw a digit: its occlusion maps appear here.")
        return
    columns = st.columns(2)
    for column, name in zip(columns, pair(model_name), strict=False):
        try:
            model, meta = saved_model(name)
        except registry.RegistryError:
            column.warning(f"Cannot load {name}.")
            continue
        result = occlusion.occlusion_map(probe(model, ModelSpec.from_dict(meta["spec"])), image28)
        spec = {**charts.occlusion_spec(result.drop, name), "usermeta": {"embedOptions": {"renderer": "svg"}}}
        if is_presenting():
            spec = charts.for_projector(spec)
        column.vega_lite_chart(spec=spec)
        column.caption(f"{name} reads {result.target} ({result.probability:.0%} sure).")
