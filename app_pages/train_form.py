"""The Train page's sidebar form, built from `dnnlab.config.SETTINGS`.

Each widget is made from the `TrainConfig` in session state with `value=` and a key
carrying a version number. A preset replaces the config and bumps the version, so every
widget starts afresh from the new config: no widget keeps a stale value, and none shows
its minimum while Train would use the config's value.
"""

import dataclasses

import streamlit as st

from dnnlab.config import GROUPS, PRESETS, SETTINGS, TrainConfig
from dnnlab.safe_text import escape_markdown

PRESENTATION_KEY = "present"  # presentation mode's own query parameter, kept as it is


def _start_from_the_url() -> None:
    """A new session's config comes from the URL (once)."""
    if "train_config" not in st.session_state:
        st.session_state.train_config, st.session_state.train_url_messages = TrainConfig.from_query(
            st.query_params.to_dict()
        )
        st.session_state.train_form = 0


def use_preset(name: str) -> None:
    """A button's callback: it may come before the form's first run has finished."""
    _start_from_the_url()
    st.session_state.train_config = st.session_state.train_config.with_preset(name)
    st.session_state.train_form += 1


def use_config(config: TrainConfig) -> None:
    """A button's callback: show `config` in every widget (a scenario's settings)."""
    _start_from_the_url()
    st.session_state.train_config = config
    st.session_state.train_form += 1


def config_inputs() -> TrainConfig | None:
    """Presets, then every setting; the config they show, or None while one is invalid."""
    _start_from_the_url()
    shown, version, sidebar = st.session_state.train_config.values(), st.session_state.train_form, st.sidebar
    sidebar.subheader("The talk's four networks")
    preset_box = sidebar.container()  # filled once the form's values are known
    values, problems = {}, []
    for group in GROUPS:
        box = sidebar.expander("Regularisation (the talk's extras)") if group == "Regularisation" else sidebar
        if box is sidebar:
            box.subheader(group)
        for s in (s for s in SETTINGS if s.group == group):
            raw = getattr(box, s.widget)(key=f"train_{s.field}_{version}", **s.widget_kwargs(shown[s.field]))
            try:
                values[s.field] = s.from_widget(raw)
            except ValueError as e:
                problems.append(e)
    try:
        # How the run starts and ends is set below the form (app_pages/train_checkpoints).
        kept = {"keep_best": st.session_state.train_config.keep_best,
                "resume_from": st.session_state.train_config.resume_from}  # fmt: skip
        config = None if problems else dataclasses.replace(TrainConfig.from_values(values), **kept)
    except ValueError as e:
        config, problems = None, [e]
    for col, name in zip(preset_box.columns(2) * 2, PRESETS, strict=True):
        col.button(name, key=f"train_preset_{name}", on_click=use_preset, args=(name,), width="stretch",
                   type="primary" if config and config.preset == name else "secondary",
                   help=PRESETS[name].description)  # fmt: skip
    for problem in problems:
        sidebar.error(escape_markdown(problem))
    if config is not None:
        st.session_state.train_config = config
        kept = {k: v for k, v in st.query_params.to_dict().items() if k == PRESENTATION_KEY}
        if st.query_params.to_dict() != (query := kept | config.to_query()):
            st.query_params.from_dict(query)
    return config
