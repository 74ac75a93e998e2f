"""The Draw page's reading of one image: the prediction, the ten probabilities, the 28×28
image the network received and, beside them, every hidden layer's response, all from one
traced call per stroke."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_pages.common import saved_model
from app_pages.presentation import is_presenting
from dnnlab import charts, images, inference, registry
from dnnlab.architectures import ModelSpec
from dnnlab.safe_text import escape_markdown

# SVG, not canvas: crisp on a projector, and each bar is an element a test can count.
SVG = {"usermeta": {"embedOptions": {"renderer": "svg"}}}


def show_reading(reading: inference.Reading, layers: list | None = None) -> None:
    """The prediction, the ten probabilities, the 28×28 image, and each hidden layer."""
    st.session_state["last_drawing"] = reading.image28
    left, right = st.columns([1, 2])
    left.metric("Prediction", reading.digit)
    left.caption(f"{reading.confidence:.1%} sure")
    scale = 6 if is_presenting() else 5  # the column narrows it to fit, never crops it
    left.image(
        inference.enlarged(reading.image28, scale),
        caption="what the network sees (28×28)",
        width=28 * scale,
        alt="the 28×28 image the network receives, enlarged",
    )
    spec = {**charts.probability_spec(reading.probabilities, reading.digit), **SVG}
    if is_presenting():
        spec = {**charts.for_projector(spec), "height": 300}
    right.vega_lite_chart(spec=spec, width="stretch")
    if layers:
        show_layers(layers)


def show_layers(layers: list) -> None:
    pictures = charts.live_layer_pictures(layers)
    st.caption(
        "Inside the network: each hidden layer's response to this drawing, after every stroke"
        " (bright or red: strong; black or blue: silent or negative)."
    )
    with st.container(horizontal=True, gap="small", key="draw_layers"):
        for picture in pictures:
            st.image(charts.png_data_url(picture.image), caption=picture.caption, alt=picture.title)


def read_and_show(image, model_name: str, hint: str, *, layers: bool = False) -> np.ndarray | None:
    """Classify the image with the chosen model and show the reading (and, if asked, each
    layer's response), or a hint if blank. Returns the prepared 28×28 image, or None."""
    try:
        model, meta = saved_model(model_name)
    except registry.RegistryError as e:
        st.error(f"Cannot load the model: {escape_markdown(e)}. Pick another one in the sidebar.")
        return None
    spec = ModelSpec.from_dict(meta["spec"])
    if image is None:  # warm up, so the first stroke is as quick as the others
        inference.predict_prepared(model, spec, np.zeros((28, 28), np.float32))
        charts.probability_spec(np.full(10, 0.1), 0)
    try:
        if image is None:
            raise images.BlankImageError("nothing drawn yet")
        if layers:
            reading, outputs = inference.read_digit_layers(model, spec, image)
        else:
            reading, outputs = inference.read_digit(model, spec, image), None
    except images.BlankImageError:
        st.info(hint)
        return None
    except images.ImageError as e:
        st.error(f"Cannot read this image: {escape_markdown(e)}")
        return None
    show_reading(reading, outputs)
    return reading.image28
