"""The drawing canvas: our one wrapper around `streamlit_drawable_canvas.st_canvas`.

Pages call `draw_canvas`; tests replace it to inject a drawing.
"""

from __future__ import annotations

import functools

import numpy as np
import streamlit as st

from dnnlab import images
from dnnlab.safe_text import escape_markdown

CANVAS_SIDE = 280  # 10 canvas pixels per MNIST pixel; pages lay it out in a column this wide
BRUSH_WIDTH = 20  # a 200-pixel digit gets MNIST's stroke thickness (~2 of 28 pixels)
PRESENTATION_BRUSH_WIDTH = 28  # visible from the back row; prepare() thins it to MNIST's range

# Two fixes to the canvas, in the browser.
#
# 1. Its toolbar (send, undo, redo, edit, reset) sits invisible over the top ~30 px of the
#    drawing until the pointer has hovered for 0.1 s, then slides up over whatever is above
#    (our tabs): a stroke started there is lost. Clear does what we need, so the toolbar is
#    hidden, by a style sheet adopted into each canvas's shadow root (page styles cannot
#    reach it). Before a stroke can start the pointer is over the canvas, so `pointerover`
#    hides the toolbar of a canvas mounted since.
# 2. The canvas sends a drawing 200 ms after mouse-up (a debounce), two thirds of our
#    300 ms budget from mouse-up to prediction. After a stroke ends, this presses the
#    (hidden) toolbar's "Update the app with this drawing" button, which sends at once.
#    Without the button (another canvas version) the drawing still arrives, 200 ms later.
CANVAS_FIXES_JS = """
const HIDE_TOOLBAR = new CSSStyleSheet();
HIDE_TOOLBAR.replaceSync('.dc-toolbar { display: none !important; }');
const SEND = 'button[aria-label="Update the app with this drawing"]';

function hideToolbar(root) {
  if (root && root.querySelector('.canvas-root') && !root.adoptedStyleSheets.includes(HIDE_TOOLBAR)) {
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, HIDE_TOOLBAR];
  }
}

function hideAllToolbars() {
  document.querySelectorAll('[data-testid="stBidiComponentIsolated"]').forEach((h) => hideToolbar(h.shadowRoot));
}

function install() {
  let button = null;
  window.addEventListener('pointerover', (event) => {
    event.composedPath().forEach((node) => node instanceof ShadowRoot && hideToolbar(node));
  }, true);
  window.addEventListener('pointerdown', (event) => {
    button = null;
    const path = event.composedPath();
    if (!path.some((n) => n instanceof HTMLCanvasElement && n.classList.contains('upper-canvas'))) return;
    for (const node of path) {
      const found = node.querySelector && node.querySelector(SEND);
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

export default function () {
  if (!window.__dnnlabCanvasFixes) {
    window.__dnnlabCanvasFixes = true;
    install();
  }
  hideAllToolbars();
  requestAnimationFrame(hideAllToolbars);  // a canvas mounted in this same render
}
"""


@functools.cache
def _canvas_fixes():
    return st.components.v2.component("dnnlab.canvas_fixes", js=CANVAS_FIXES_JS)


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
    _canvas_fixes()(key="draw_canvas_fixes")
    # The PNG as the browser sent it, its size and header checked before it is decoded
    # (the component's own `image_data` decodes whatever arrives, with no limit).
    drawing = result.image_bytes
    if drawing is None:
        return None
    try:
        return images.read_canvas_png(drawing)
    except images.ImageError as e:
        st.error(f"Cannot read this drawing: {escape_markdown(e)}")
        return None
