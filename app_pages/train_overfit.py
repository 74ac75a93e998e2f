"""Overfitting you can see: one click sets the form to overfit, a second to cure it
(the scenarios are `dnnlab.config.SCENARIOS`)."""

import streamlit as st

from app_pages.train_form import use_config
from dnnlab.config import SCENARIOS


def overfit_strip() -> None:
    """Two buttons that set the form to a scenario, and the sentence that explains each."""
    # Not a collapsed expander: its explanations are captions, and the projector must show them.
    with st.container(border=True):
        st.markdown("**Overfitting you can see**")
        for col, (key, scenario) in zip(st.columns(2), SCENARIOS.items(), strict=True):
            col.button(
                scenario.label,
                key=f"train_scenario_{key}",
                on_click=use_config,
                args=(scenario.config,),
                width="stretch",
            )
            col.caption(scenario.why)
