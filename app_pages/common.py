"""Streamlit helpers shared by the pages: cached shared resources and the model picker.

Shared, read-only things (MNIST, loaded models) live in `st.cache_resource`, once per
server process; what belongs to one user lives in `st.session_state`.
"""

from __future__ import annotations

import gc

import streamlit as st

from dnnlab import data, registry


def _keep_out_of_full_collections(loaded):
    """Move what was just loaded (a model's graph, MNIST's arrays) out of the collector's
    reach: Python's full collections otherwise walk every one of its objects, and with a few
    models loaded each took 0.3 s holding the GIL, every few seconds under a room's load."""
    gc.collect()
    gc.freeze()
    return loaded


@st.cache_resource(show_spinner="Loading MNIST…")
def _mnist():
    return _keep_out_of_full_collections(data.load())


def mnist():
    """MNIST as `load_mnist()` returns it, loaded once per server process; without it,
    the page says what was tried and how to fix it (the CLI's message) and stops."""
    try:
        return _mnist()  # a failure is not cached: the next run tries again
    except data.MnistError as e:
        st.error("MNIST is not available, and this page needs it. What was tried, and the fix:")
        st.code(str(e), language=None)
        st.stop()


@st.cache_resource(show_spinner="Loading model…", max_entries=32)
def load_model(name: str, mtime: float):
    """(model, meta) of a saved model; `mtime` makes a replaced file load afresh."""
    return _keep_out_of_full_collections(registry.load(name))


def saved_model(name: str):
    """(model, meta) of a saved model, through the cache."""
    return load_model(name, registry.stamp(name))


def usable_models() -> list[registry.ModelInfo]:
    return [info for info in registry.list_models() if info.ok]


def default_model(infos: list[registry.ModelInfo]) -> str | None:
    """The most accurate CNN, else the most accurate model."""
    if not infos:
        return None
    cnns = [i for i in infos if i.spec.is_conv] or infos
    return max(cnns, key=lambda i: i.test_accuracy or 0).name


def model_picker(key: str, label: str = "Model") -> str | None:
    """A selectbox over the usable saved models, defaulting to the best CNN."""
    infos = usable_models()
    if not infos:
        st.info("No saved models yet: train one on the **Train** page.")
        return None
    names = [i.name for i in infos]
    accuracy = {i.name: i.test_accuracy for i in infos}
    if key not in st.session_state or st.session_state[key] not in names:
        st.session_state[key] = default_model(infos)
    return st.selectbox(
        label,
        names,
        key=key,
        format_func=lambda n: f"{n} ({accuracy[n]:.1%})" if accuracy[n] is not None else n,
    )
