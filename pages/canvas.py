"""The drawing canvas: our one wrapper around `streamlit_drawable_canvas.st_canvas`.

Pages call `draw_canvas`; tests replace it to inject a drawing.
"""

from __future__ import annotations

import numpy as np

CANVAS_SIDE = 280  # 10 canvas pixels per MNIST pixel
BRUSH_WIDTH = 20  # a 200-pixel digit gets MNIST's stroke thickness (~2 of 28 pixels)


def draw_canvas(key: str) -> np.ndarray | None:
    """A black canvas drawn on in white; the RGBA image so far, or None before any stroke.

    The image is opaque (alpha 255) with the black background included, and is sent to
    the app after every stroke (the canvas waits 200 ms after mouse-up).
    """
    # Imported here: the component registers itself with the Streamlit runtime on
    # import, which fails outside `streamlit run` (in unit tests that replace us).
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=BRUSH_WIDTH,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIDE,
        width=CANVAS_SIDE,
        drawing_mode="freedraw",
        update_streamlit=True,
        return_image_data=True,
        key=key,
    )
    return result.image_data
