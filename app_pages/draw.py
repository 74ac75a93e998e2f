"""Draw: draw a digit (or upload one) and see what the network sees, what it predicts, and
what happens inside it."""

import streamlit as st

from app_pages import canvas, draw_invariance, draw_occlusion, draw_units
from app_pages.common import model_picker
from app_pages.draw_reading import PIXELATED, read_and_show
from app_pages.presentation import is_presenting
from dnnlab import images
from dnnlab.safe_text import escape_markdown

INSIDE = ["Occlusion", "Invariance", "What units want"]


@st.fragment
def drawing_panel(model_name: str) -> None:
    """Canvas, prediction, layers and the chosen view: a stroke reruns only this fragment."""
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
            image28 = read_and_show(
                image,
                model_name,
                "Draw a digit on the black square: the prediction appears when you lift the mouse.",
                layers=True,
            )
    view = st.segmented_control("Look inside the network", INSIDE, key="draw_inside")
    if view == "Occlusion":
        draw_occlusion.show(model_name, image28)
    elif view == "Invariance":
        draw_invariance.show(image28)
    elif view == "What units want":
        draw_units.show(model_name)


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
        image = images.read_image(upload.getvalue(), name=upload.name)
    except images.ImageError as e:
        st.error(f"Cannot read this file: {escape_markdown(e)}. Upload a PNG or JPEG image of a digit.")
        return
    blank = f"{escape_markdown(upload.name)} looks blank: upload an image with one digit on it."
    read_and_show(image, model_name, blank)


st.title("Draw")
st.html(PIXELATED)
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
