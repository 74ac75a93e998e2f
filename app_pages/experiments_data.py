"""The Experiments page's analyses of one saved model, cached per model file (its name and
stamp): errors, RDMs, lesions, single-unit sweeps, dead units."""

from __future__ import annotations

import streamlit as st

from app_pages import common
from dnnlab import charts, inspection, probes, registry, rsa
from dnnlab import errors as error_analysis
from dnnlab import lesions as lesion_analysis
from dnnlab.architectures import ModelSpec


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
