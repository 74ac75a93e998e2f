"""The drawing canvas: our one wrapper around `streamlit_drawable_canvas.st_canvas`.

Pages call `draw_canvas`; tests replace it to inject a drawing.
"""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st

CANVAS_SIDE = 280  # 10 canvas pixels per MNIST pixel
BRUSH_WIDTH = 20  # a 200-pixel digit gets MNIST's stroke thickness (~2 of 28 pixels)
PRESENTATION_BRUSH_WIDTH = 28  # visible from the back row; prepare() thins it to MNIST's range

# streamlit-drawable-canvas sends a drawing 200 ms after mouse-up (a debounce), which is
# two thirds of our 300 ms budget from mouse-up to prediction. After a stroke ends on a
# canvas, this presses the canvas's own "Update the app with this drawing" button, which
# cancels the wait and sends at once. Without the button (another canvas version) the
# drawing still arrives, 200 ms later.
SEND_ON_MOUSE_UP_JS = """
export default function () {
  if (window.__dnnlabSendOnMouseUp) return;
  window.__dnnlabSendOnMouseUp = true;
  const LABEL = 'button[aria-label="Update the app with this drawing"]';
  let button = null;
  window.addEventListener('pointerdown', (event) => {
    button = null;
    const path = event.composedPath();
    if (!path.some((n) => n instanceof HTMLCanvasElement && n.classList.contains('upper-canvas'))) return;
    for (const node of path) {
      const found = node.querySelector && node.querySelector(LABEL);
      if (found) { button = found; break; }
    }
  }, true);
  window.addEventListener('pointerup', () => {
    const pressed = button;
    button = null;
    // After the canvas has finished the stroke (its handlers and their microtasks).
    if (pressed) setTimeout(() => pressed.click(), 0);
  }, true);
}
"""


@functools.cache
def _send_on_mouse_up():
    return st.components.v2.component("dnnlab.send_on_mouse_up", js=SEND_ON_MOUSE_UP_JS)


def draw_canvas(key: str, *, thick: bool = False) -> np.ndarray | None:
    """A black canvas drawn on in white; the RGBA image so far, or None before any stroke.

    The image is opaque (alpha 255) with the black background included, and is sent to
    the app as soon as a stroke ends.
    """
    # Imported here: the component registers itself with the Streamlit runtime on
    # import, which fails outside `streamlit run` (in unit tests that replace us).
    from streamlit_drawable_canvas import st_canvas

    result = st_canvas(
        stroke_width=PRESENTATION_BRUSH_WIDTH if thick else BRUSH_WIDTH,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIDE,
        width=CANVAS_SIDE,
        drawing_mode="freedraw",
        update_streamlit=True,
        return_image_data=True,
        key=key,
    )
    _send_on_mouse_up()(key="draw_send_on_mouse_up")
    return result.image_data
