"""Two fixes to the drawing canvas, run in the browser beside each canvas (`app_pages.canvas`)."""

from __future__ import annotations

import functools

import streamlit as st

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
def canvas_fixes():
    return st.components.v2.component("dnnlab.canvas_fixes", js=CANVAS_FIXES_JS)
