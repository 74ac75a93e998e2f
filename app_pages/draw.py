"""Draw: draw a digit (or upload one) and see what the network sees and what it predicts."""

import altair as alt
import numpy as np
import streamlit as st

from app_pages import canvas
from app_pages.common import model_picker, saved_model
from app_pages.presentation import is_presenting
from dnnlab import inference, registry
from dnnlab.architectures import ModelSpec


@st.cache_resource
def probability_spec() -> dict:
    """The bar chart, defined in Altair once; each stroke only sends new data (Altair's
    `to_dict` costs 50-100 ms, the whole stroke-to-prediction budget is 300 ms)."""
    return (
        alt.Chart()
        .mark_bar()
        .encode(
            x=alt.X("digit:O", title="digit", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
            color=alt.condition("datum.predicted", alt.value("#e4572e"), alt.value("#4c78a8")),
            tooltip=["digit:O", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(height=220)
        .to_dict()
    )


def show_reading(reading: inference.Reading) -> None:
    """The prediction, the ten probabilities and the 28×28 image the network received."""
    st.session_state["last_drawing"] = reading.image28
    left, right = st.columns([1, 2])
    left.metric("Prediction", reading.digit)
    left.caption(f"{reading.confidence:.1%} sure")
    left.image(
        inference.enlarged(reading.image28, 5),
        caption="what the network sees (28×28)",
        width=140,
        alt="the 28×28 image the network receives, enlarged",
    )
    # Ten rows inline in the spec: a DataFrame would go through Arrow, a fifth of the
    # server's time per stroke when a room draws at once.
    rows = [
        {"digit": d, "probability": float(p), "predicted": d == reading.digit}
        for d, p in enumerate(reading.probabilities)
    ]
    right.vega_lite_chart(spec={**probability_spec(), "data": {"values": rows}}, width="stretch")


def read_and_show(image, model_name: str, hint: str) -> None:
    """Classify the image with the chosen model and show the reading, or a hint if blank."""
    try:
        model, meta = saved_model(model_name)
    except registry.RegistryError as e:
        st.error(f"Cannot load the model: {e}. Pick another one in the sidebar.")
        return
    spec = ModelSpec.from_dict(meta["spec"])
    if image is None:  # warm up, so the first stroke is as quick as the others
        inference.predict_prepared(model, spec, np.zeros((28, 28), np.float32))
        probability_spec()
    try:
        if image is None:
            raise inference.BlankImageError("nothing drawn yet")
        reading = inference.read_digit(model, spec, image)
    except inference.BlankImageError:
        st.info(hint)
        return
    except inference.ImageError as e:
        st.error(f"Cannot read this image: {e}")
        return
    show_reading(reading)


@st.fragment
def drawing_panel(model_name: str) -> None:
    """Canvas and prediction: a stroke reruns only this fragment, not the page."""
    st.session_state.setdefault("draw_canvas_version", 0)
    left, right = st.columns([1, 2], gap="medium")
    with left:
        image = canvas.draw_canvas(
            key=f"draw_canvas_{st.session_state['draw_canvas_version']}", thick=is_presenting()
        )
        st.button("Clear", key="draw_clear", on_click=clear_canvas, icon=":material/delete:")
    with right:
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
        st.error(f"Cannot read this file: {e}. Upload a PNG or JPEG image of a digit.")
        return
    read_and_show(image, model_name, f"{upload.name} looks blank: upload an image with one digit on it.")


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
