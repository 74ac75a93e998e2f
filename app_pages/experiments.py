"""Experiments: models as participants — the staircase, learning curves, errors, RSA, lesions.

Inputs come from widgets; results from `dnnlab.staircase`, `errors`, `rsa` and `lesions`,
cached per model file in `experiments_data`; each section placed by its own module
(`experiments_staircase`, `_sections` (shared helpers, curves), `_analyses`, `_forming`,
`_lesions`, `_compare`).
"""

from __future__ import annotations

import streamlit as st

from app_pages import common
from app_pages import experiments_analyses as analyses
from app_pages import experiments_compare as participants
from app_pages import experiments_data as analysed
from app_pages import experiments_forming as forming
from app_pages import experiments_lesions as lesion_view
from app_pages import experiments_sections as view
from app_pages import experiments_staircase as staircase_view
from dnnlab import lesions as lesion_analysis
from dnnlab import registry
from dnnlab import staircase as stairs

SECTIONS = ["Staircase", "Learning curves", "Errors", "Representations", "Lesions", "Participants"]


def pick_model() -> str | None:
    """One model choice shared by the Errors, Representations and Lesions tabs."""
    view.remembered("exp_model")
    return view.remember("exp_model", common.model_picker("exp_model"))


st.title("Experiments")
st.caption(
    "“Models should be treated as participants”: compare runs, study their errors, probe their representations."
)
infos = stairs.in_talk_order(registry.list_models())
if not infos:
    st.info("No saved models yet: train one on the **Train** page.")
    st.stop()
staircase, curves, mistakes, representations, lesions, compared = st.tabs(
    SECTIONS, key="exp_section", on_change="rerun"
)

runs = stairs.runs_table(infos)
if staircase.open:
    with staircase:
        staircase_view.staircase(stairs.staircase(infos), runs)

if curves.open:
    with curves:
        histories = {i.name: i.meta["history"] for i in infos if i.ok and i.meta.get("history")}
        default = [n for n in view.latest_per_preset(runs) if n in histories]
        shown = view.chosen_runs("Runs", list(histories), default, "exp_curves_runs", view.MAX_CURVES)
        presets = dict(zip(runs["name"], runs["preset"], strict=True))
        view.curves(stairs.learning_curves({n: histories[n] for n in shown}), presets)

if mistakes.open:
    with mistakes:
        if name := pick_model():
            analyses.errors(analysed.errors(*analysed.model_file(name)), common.mnist().arrays[1][0])

if representations.open:
    with representations:
        if name := pick_model():
            analyses.similarity(*analysed.similarity(*analysed.model_file(name), analyses.rsa_method()))
            forming.show(name)

if lesions.open:
    with lesions:
        if name := pick_model():
            model, _ = common.saved_model(name)
            layer, units, sweep = lesion_view.lesion_inputs(
                lesion_analysis.lesionable_layers(model),
                f"exp_lesion_{name}",
                analysed.dead_units(*analysed.model_file(name)),
            )
            if layer is not None:
                result = analysed.lesion(*analysed.model_file(name), layer, units) if units else None
                lesion_view.lesion(
                    analysed.errors(*analysed.model_file(name)),
                    result,
                    analysed.unit_sweep(*analysed.model_file(name), layer) if sweep else None,
                )

if compared.open:
    with compared:
        participants.show(runs, analysed.errors, common.mnist().arrays[1][0])
