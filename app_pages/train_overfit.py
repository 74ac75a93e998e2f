"""Overfitting you can see: one click sets the form to overfit, a second to cure it."""

import dataclasses

import streamlit as st

from app_pages.train_form import use_config
from dnnlab.config import HyperParams, ModelSpec, TrainConfig

# A wide MLP on 1,000 images with a fifth held out: it learns the 800 by heart within a
# few epochs (issue 16: a 256-256 MLP's validation loss turns up by epoch 3).
OVERFIT = TrainConfig(
    ModelSpec(dense_units=(256, 256)),
    HyperParams(epochs=30, validation_split=0.2, train_images=1_000),
)
# The cure: dropout, and the checkpoint of the epoch before the validation loss turned.
CURE = dataclasses.replace(OVERFIT, spec=dataclasses.replace(OVERFIT.spec, dropout=0.5), keep_best=True)
SCENARIOS = {
    "overfit": ("1. Overfit it", OVERFIT,
                "A wide network on 1,000 images learns them by heart: training accuracy climbs to 100% "
                "while the validation loss, on images it never trains on, turns and rises."),
    "cure": ("2. Cure it", CURE,
             "Dropout (half the units silenced at random each step) makes memorising hard, and keeping "
             "the best epoch ends with the weights from before the validation loss rose."),
}  # fmt: skip


def overfit_strip() -> None:
    """Two buttons that set the form to a scenario, and the sentence that explains each."""
    # Not a collapsed expander: its explanations are captions, and the projector must show them.
    with st.container(border=True):
        st.markdown("**Overfitting you can see**")
        for col, (key, (label, config, why)) in zip(st.columns(2), SCENARIOS.items(), strict=True):
            col.button(
                label, key=f"train_scenario_{key}", on_click=use_config, args=(config,), width="stretch"
            )
            col.caption(why)
