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
# The reading's pictures come one pixel per value: the browser enlarges them, crisply.
PIXELATED = """<style>
.st-key-draw_layers img, img[alt^="the 28×28 image the network receives"] { image-rendering: pixelated; }
</style>"""


def show_reading(reading: inference.Reading, layers: list | None = None) -> None:
    """The prediction, the ten probabilities, the 28×28 image, and each hidden layer."""
    st.session_state["last_drawing"] = reading.image28
    left, right = st.columns([1, 2])
    left.metric("Prediction", reading.digit)
    left.caption(f"{reading.confidence:.1%} sure")
    scale = 6 if is_presenting() else 5  # the column narrows it to fit, never crops it
    # 28×28 pixels in the page's own message, enlarged by the browser (PIXELATED): no
    # media-store fetch behind a busy server, no 140×140 PNG encoded per stroke.
    left.image(
        charts.png_data_url(inference.enlarged(reading.image28, 1)),
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
            width = picture.image.shape[1] * picture.scale
            st.image(
                charts.png_data_url(picture.image), caption=picture.caption, alt=picture.title, width=width
            )


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
        reading, outputs = _read(model, spec, image, layers)
    except images.BlankImageError:
        st.info(hint)
        return None
    except images.ImageError as e:
        st.error(f"Cannot read this image: {escape_markdown(e)}")
        return None
    show_reading(reading, outputs)
    return reading.image28


def _read(model, spec: ModelSpec, image, layers: bool):
    """The reading (and each layer's output), computed again only for a new drawing or
    model: a rerun without a stroke (another view chosen) gets the same image object
    from `canvas.draw_canvas`, and skips `prepare` and the network."""
    last = st.session_state.get("draw_last_reading")
    if last is not None and last[0] is image and last[1] is model and last[2] == layers:
        return last[3]
    if layers:
        found = inference.read_digit_layers(model, spec, image)
    else:
        found = inference.read_digit(model, spec, image), None
    st.session_state["draw_last_reading"] = (image, model, layers, found)
    return found
