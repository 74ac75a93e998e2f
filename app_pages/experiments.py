"""Experiments: models as participants — the staircase, learning curves, errors, RSA, lesions.

Inputs come from widgets; results from `dnnlab.staircase`, `errors`, `rsa` and `lesions`,
cached per model file (its name and stamp); charts from `dnnlab.charts`, placed by
`experiments_sections`.
"""

from __future__ import annotations

import streamlit as st

from app_pages import common
from app_pages import experiments_compare as participants
from app_pages import experiments_forming as forming
from app_pages import experiments_sections as view
from dnnlab import charts, inspection, probes, registry, rsa
from dnnlab import errors as error_analysis
from dnnlab import lesions as lesion_analysis
from dnnlab import staircase as stairs
from dnnlab.architectures import ModelSpec

SECTIONS = ["Staircase", "Learning curves", "Errors", "Representations", "Lesions", "Participants"]


def model_file(name: str) -> tuple[str, int]:
    """(name, stamp): the cache key of a saved model's results."""
    return name, registry.stamp(name)


def _model_and_test_set(name: str, mtime: float):
    model, meta = common.load_model(name, mtime)
    _, (x_test, y_test) = common.mnist().arrays
    return model, ModelSpec.from_dict(meta["spec"]), x_test, y_test


@st.cache_data(max_entries=32, show_spinner="Classifying the 10,000 test images…")
def errors(name: str, mtime: float) -> error_analysis.ErrorReport:
    return error_analysis.error_report(*_model_and_test_set(name, mtime))


@st.cache_data(max_entries=16, show_spinner="Computing representational dissimilarity matrices…")
def similarity(name: str, mtime: float, method: str) -> tuple[rsa.RsaResult, list, object]:
    model, spec, x, y = _model_and_test_set(name, mtime)
    sample = rsa.rsa_sample(y, per_class=50, seed=0)
    result = rsa.representational_similarity(model, spec, x[sample], y[sample], method)
    ideal = charts.rdm_image(rsa.category_rdm(result.labels))
    return result, [charts.rdm_image(m) for m in result.rdms], ideal


@st.cache_data(max_entries=64, show_spinner="Silencing units…")
def lesion(name: str, mtime: float, layer: str, units: tuple[int, ...]) -> lesion_analysis.LesionResult:
    model, spec, x, y = _model_and_test_set(name, mtime)
    return lesion_analysis.lesion(model, spec, x, y, layer, units, intact=errors(name, mtime))


@st.cache_data(max_entries=32, show_spinner="Silencing each unit in turn…")
def unit_sweep(name: str, mtime: float, layer: str):
    return lesion_analysis.single_unit_lesions(*_model_and_test_set(name, mtime), layer)


@st.cache_data(max_entries=32, show_spinner="Finding units that never fire on the training digits…")
def dead_units(name: str, mtime: float) -> dict[str, list[int]]:
    model, spec, _, _ = _model_and_test_set(name, mtime)
    return inspection.dead_units(probes.probe(model, spec), common.mnist().arrays[0][0])


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
        view.staircase(stairs.staircase(infos), runs)

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
            view.errors(errors(*model_file(name)), common.mnist().arrays[1][0])

if representations.open:
    with representations:
        if name := pick_model():
            view.similarity(*similarity(*model_file(name), view.rsa_method()))
            forming.show(name)

if lesions.open:
    with lesions:
        if name := pick_model():
            model, _ = common.saved_model(name)
            layer, units, sweep = view.lesion_inputs(
                lesion_analysis.lesionable_layers(model), f"exp_lesion_{name}", dead_units(*model_file(name))
            )
            if layer is not None:
                result = lesion(*model_file(name), layer, units) if units else None
                view.lesion(
                    errors(*model_file(name)), result, unit_sweep(*model_file(name), layer) if sweep else None
                )

if compared.open:
    with compared:
        participants.show(runs, errors, common.mnist().arrays[1][0])
