"""Draw: draw a digit (or upload one) and see what the network sees and what it predicts."""

import numpy as np
import streamlit as st

from app_pages import canvas
from app_pages.common import model_picker, saved_model
from app_pages.presentation import is_presenting
from dnnlab import charts, inference, registry
from dnnlab.architectures import ModelSpec
from dnnlab.safe_text import escape_markdown

# SVG, not canvas: crisp on a projector, and each bar is an element a test can count.
SVG = {"usermeta": {"embedOptions": {"renderer": "svg"}}}


def show_reading(reading: inference.Reading) -> None:
    """The prediction, the ten probabilities and the 28×28 image the network received."""
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


def read_and_show(image, model_name: str, hint: str) -> None:
    """Classify the image with the chosen model and show the reading, or a hint if blank."""
    try:
        model, meta = saved_model(model_name)
    except registry.RegistryError as e:
        st.error(f"Cannot load the model: {escape_markdown(e)}. Pick another one in the sidebar.")
        return
    spec = ModelSpec.from_dict(meta["spec"])
    if image is None:  # warm up, so the first stroke is as quick as the others
        inference.predict_prepared(model, spec, np.zeros((28, 28), np.float32))
        charts.probability_spec(np.full(10, 0.1), 0)
    try:
        if image is None:
            raise inference.BlankImageError("nothing drawn yet")
        reading = inference.read_digit(model, spec, image)
    except inference.BlankImageError:
        st.info(hint)
        return
    except inference.ImageError as e:
        st.error(f"Cannot read this image: {escape_markdown(e)}")
        return
    show_reading(reading)


@st.fragment
def drawing_panel(model_name: str) -> None:
    """Canvas and prediction: a stroke reruns only this fragment, not the page."""
    st.session_state.setdefault("draw_canvas_version", 0)
    # The canvas's column is exactly as wide as the canvas, whatever the screen and the
    # type size: a share of the page was narrower than the canvas at 1280 px, and clipped it.
    with st.container(horizontal=True, gap="medium"):
        with st.container(width=canvas.CANVAS_SIDE):
            image = canvas.draw_canvas(
                key=f"draw_canvas_{st.session_state['draw_canvas_version']}", thick=is_presenting()
            )
            st.button("Clear", key="draw_clear", on_click=clear_canvas, icon=":material/delete:")
        with st.container():
            read_and_show(
                image,
                model_name,
                "Draw a digit on the black square: the prediction appears when you lift the mouse.",
            )


def clear_canvas() -> None:
    st.session_state["draw_canvas_version"] += 1  # a new key gives a new, empty canvas


@st.fragment
def upload_panel(model_name: str) -> None:
    upload = st.file_uploader(
        "A PNG or JPEG of one digit, any size, dark on light or light on dark",
        type=["png", "jpg", "jpeg"],
        key="draw_upload",
    )
    if upload is None:
        return
    try:
        image = inference.read_image(upload.getvalue(), name=upload.name)
    except inference.ImageError as e:
        st.error(f"Cannot read this file: {escape_markdown(e)}. Upload a PNG or JPEG image of a digit.")
        return
    blank = f"{escape_markdown(upload.name)} looks blank: upload an image with one digit on it."
    read_and_show(image, model_name, blank)


st.title("Draw")
st.caption("Draw a digit with the mouse: the network reads it the way MNIST digits were prepared.")
with st.sidebar:
    name = model_picker("draw_model")
if name is None:
    st.stop()
draw_tab, upload_tab = st.tabs(["Draw", "Upload an image"])
with draw_tab:
    drawing_panel(name)
with upload_tab:
    upload_panel(name)
