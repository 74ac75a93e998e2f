"""The Train form's checkpoint options: keep the best epoch, train on from a saved model."""

import dataclasses

import streamlit as st

from dnnlab import registry
from dnnlab.config import TrainConfig

AFRESH = "no: start afresh"


def checkpoint_inputs(config: TrainConfig | None) -> TrainConfig | None:
    """The form's config with `keep_best` and `resume_from` as the two widgets set them."""
    if config is None:
        return None
    version, sidebar = st.session_state.train_form, st.sidebar
    sidebar.subheader("Checkpoints")
    keep = sidebar.toggle("Keep the best epoch", value=config.keep_best, key=f"train_keep_best_{version}",
                          help="End with the weights of the epoch of lowest validation loss, not the last.")  # fmt: skip
    if keep and not config.hyper.validation_split:
        sidebar.warning("Keeping the best epoch needs a validation split to tell which epoch is best.")
    # Only a saved network of the same architecture can carry on training.
    same = [m.name for m in registry.list_models() if m.ok and m.spec == config.spec]
    options = [AFRESH, *same]
    resume = sidebar.selectbox("Train on from a saved model", options, key=f"train_resume_{version}",
                               index=options.index(config.resume_from) if config.resume_from in same else 0,
                               help="Start from a saved network's weights (the same layers) for more epochs; "
                                    "the optimiser's running averages start afresh.")  # fmt: skip
    config = dataclasses.replace(config, keep_best=keep, resume_from=None if resume == AFRESH else resume)
    st.session_state.train_config = config
    return config
