"""Experiments → Lesions: which units to silence, and what silencing them does."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_pages.experiments_sections import place, remember, remembered
from dnnlab import charts
from dnnlab.safe_text import escape_markdown


def lesion_inputs(
    layers: dict[str, int], key: str, dead: dict[str, list[int]] | None = None
) -> tuple[str | None, tuple[int, ...], bool]:
    """The layer, the units to silence (dead ones, which never fire, marked), and whether to
    silence each unit in turn."""
    if not layers:
        st.info("This model has no hidden Dense or Conv2D layer to lesion.")
        return None, (), False
    remembered(f"{key}_layer")
    layer = st.selectbox(
        "Layer",
        list(layers),
        key=f"{key}_layer",
        format_func=lambda n: f"{n} ({layers[n]} {'channels' if 'conv' in n else 'units'})",
    )
    remember(f"{key}_layer", layer)
    units_key = f"{key}_{layer}_units"
    remembered(units_key)
    never = set((dead or {}).get(layer, ()))
    units = st.multiselect(
        "Units to silence",
        list(range(layers[layer])),
        key=units_key,
        format_func=lambda u: f"{u} (dead: never fires)" if u in never else str(u),
    )
    units = remember(units_key, units)
    if never:
        st.caption(
            f"Dead units of {layer}, which never fire on the 60,000 training digits: "
            f"{', '.join(map(str, sorted(never)))}. Silencing them changes nothing."
        )
    remembered("exp_lesion_sweep")
    sweep = st.toggle(
        "Also silence each unit alone",
        key="exp_lesion_sweep",
        help="One pass over the 10,000 test images per unit: about a second each for a small CNN.",
    )
    return layer, tuple(units), remember("exp_lesion_sweep", sweep)


def lesion(intact, result, sweep: pd.DataFrame | None) -> None:
    """Accuracy before and after a lesion, per digit; optionally each unit's own effect."""
    left, right = st.columns(2)
    left.metric("Intact", f"{intact.accuracy:.2%}")
    if result is None:
        right.info("Choose units to silence: their output is set to 0 for every test image.")
    else:
        right.metric(
            f"{len(result.silenced)} unit(s) of {escape_markdown(result.layer)} silenced",
            f"{result.lesioned.accuracy:.2%}",
            delta=f"{-result.drop:+.2%}",
        )
        place(st, charts.per_class_chart(result.per_class(), ["intact", "lesioned"], from_zero=True))
    if sweep is not None:
        st.markdown("**Each unit silenced alone**: drop in test accuracy")
        place(st, charts.unit_lesion_chart(sweep, intact.accuracy))
