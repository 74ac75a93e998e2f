"""The drawing canvas: our one wrapper around `streamlit_drawable_canvas.st_canvas`.

Pages call `draw_canvas`; tests replace it to inject a drawing.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_pages.draw_canvas_fixes import canvas_fixes
from dnnlab import images
from dnnlab.safe_text import escape_markdown

CANVAS_SIDE = 280  # 10 canvas pixels per MNIST pixel; pages lay it out in a column this wide
BRUSH_WIDTH = 20  # a 200-pixel digit gets MNIST's stroke thickness (~2 of 28 pixels)
PRESENTATION_BRUSH_WIDTH = 28  # visible from the back row; prepare() thins it to MNIST's range


def draw_canvas(key: str, *, thick: bool = False, side: int = CANVAS_SIDE) -> np.ndarray | None:
    """A black canvas drawn on in white; the RGBA image so far, or None before any stroke.

    `side` in CSS pixels (a phone's canvas fills its screen's width); the brush scales with it.

    The image is opaque (alpha 255) with the black background included, and is sent to
    the app as soon as a stroke ends.
    """
    # Imported here: the component registers itself with the Streamlit runtime on
    # import, which fails outside `streamlit run` (in unit tests that replace us).
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=round((PRESENTATION_BRUSH_WIDTH if thick else BRUSH_WIDTH) * side / CANVAS_SIDE),
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=side,
        width=side,
        drawing_mode="freedraw",
        update_streamlit=True,
        return_image_data=True,
        key=key,
    )
    canvas_fixes()(key="draw_canvas_fixes")
    # The PNG as the browser sent it, its size and header checked before it is decoded
    # (the component's own `image_data` decodes whatever arrives, with no limit).
    drawing = result.image_bytes
    if drawing is None:
        return None
    # A rerun with no new stroke (another view chosen) gets the same array, undecoded, so
    # the reading's cache (`draw_reading`) knows the drawing is unchanged.
    last = st.session_state.get("canvas_last_decoded")
    if last is not None and last[0] == key and last[1] == drawing:
        return last[2]
    try:
        image = images.read_canvas_png(drawing)
    except images.ImageError as e:
        st.error(f"Cannot read this drawing: {escape_markdown(e)}")
        return None
    image.flags.writeable = False  # shared by the reruns that reuse it
    st.session_state["canvas_last_decoded"] = (key, drawing, image)
    return image
