"""The "Start here" strip on the landing page (Train): the talk's four steps, one click each.

Shown above the Train page, whose form it sets; the form has run by the time a button can be pressed.
"""

import streamlit as st

from app_pages.train_form import use_preset
from dnnlab.config import PRESETS

# Each step of the talk changes one thing: the button says which.
STEPS = {
    "mlp-raw": "Raw pixels",
    "mlp-rescaled": "Rescale to 0–1",
    "mlp-relu": "Add ReLU",
    "cnn": "Convolutions",
}


def start_strip() -> None:
    """Four buttons, one per step of the talk, each setting the Train form to that network."""
    with st.container(border=True):
        st.markdown("**Start here: the talk in four steps.** Pick one, press **Train**, watch it learn.")
        for step, (col, preset) in enumerate(zip(st.columns(4), PRESETS.values(), strict=True), start=1):
            col.button(f"{step}. {STEPS[preset.name]}", key=f"start_{preset.name}", on_click=use_preset,
                       args=(preset.name,), width="stretch",
                       help=f"{preset.title}: {preset.description} The talk: {preset.talk_accuracy:.0%}.")  # fmt: skip
        st.caption(
            "Then draw a digit on **Draw**, look inside the network on **Model**, "
            "and compare the four on **Experiments**."
        )
