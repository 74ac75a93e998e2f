"""Drawing on the real Draw page with the mouse, and reading what it predicts."""

from __future__ import annotations

import re

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.conftest import wait_for_app

HINT = "Draw a digit on the black square"

# The 28×28 image the network received: a new one (a new URL) for every new drawing.
SEEN = 'img[alt="the 28×28 image the network receives, enlarged"]'
NEW_IMAGE_JS = f"""
(before) => {{
  const image = document.querySelector('{SEEN}');
  return image !== null && image.getAttribute('src') !== before;
}}
"""

# Every drawing canvas's shadow root: each canvas lives in its component's, where
# `document.querySelectorAll` does not reach.
ROOTS_JS = """
const canvasRoots = () => [...document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')]
  .map((host) => host.shadowRoot)
  .filter((root) => root && root.querySelector('canvas.upper-canvas'));
"""

# Marks every canvas now on the page (a `document.querySelectorAll` once marked nothing,
# so the wait for a new canvas after Clear passed at once, on the old one).
MARK_JS = f"""(mark) => {{{ROOTS_JS}
  canvasRoots().forEach((root) => {{ root.querySelector('canvas.upper-canvas').dataset[mark] = '1'; }});
}}"""

# One canvas on the page, not marked old, showing its black background and, if `place` is
# given, with its top-left corner there. Until its first drawing has loaded, the canvas is
# not yet in drawing mode and that load wipes any stroke; the background is painted in the
# same step that turns drawing on.
READY_CANVAS_JS = f"""(place) => {{{ROOTS_JS}
  const found = canvasRoots();
  if (found.length !== 1) return false;
  const upper = found[0].querySelector('canvas.upper-canvas');
  const lower = found[0].querySelector('canvas.dc-canvas.lower-canvas');
  const middle = lower.getContext('2d').getImageData(lower.width / 2, lower.height / 2, 1, 1);
  const r = upper.getBoundingClientRect();
  const placed = !place || (Math.abs(r.x - place.x) < 1 && Math.abs(r.y - place.y) < 1);
  return !upper.dataset.old && middle.data[3] === 255 && placed;
}}"""

# What a failed wait reports: did the stroke reach the canvas, where is the canvas now,
# and is the app still running?
STATE_JS = f"""() => {{{ROOTS_JS}
  const seen = canvasRoots().map((root) => {{
    const lower = root.querySelector('canvas.dc-canvas.lower-canvas');
    const d = lower.getContext('2d').getImageData(0, 0, lower.width, lower.height).data;
    let white = 0;
    for (let i = 0; i < d.length; i += 4) white += d[i] > 128;
    const r = root.querySelector('canvas.upper-canvas').getBoundingClientRect();
    return `canvas at (${{r.x}}, ${{r.y}}) with ${{white}} white pixels`;
  }});
  const app = document.querySelector('[data-testid="stApp"]');
  return `${{seen.length}} canvases: ${{seen.join('; ')}}; ` +
    `script ${{app && app.getAttribute('data-test-script-state')}}, ` +
    `connection ${{app && app.getAttribute('data-test-connection-state')}}`;
}}"""


def open_draw_page(page, url: str, query: str = "") -> None:
    """The Draw page, its canvas ready and nothing drawn yet."""
    page.goto(f"{url}/draw{query}")
    wait_for_app(page)
    expect(canvas(page)).to_have_count(1, timeout=60_000)
    expect(page.get_by_text(HINT)).to_be_visible(timeout=60_000)
    page.wait_for_function(READY_CANVAS_JS, arg=None, timeout=60_000)


def canvas(page):
    return page.locator("canvas.upper-canvas")


def prediction(page):
    return page.get_by_test_id("stMetric").filter(has_text="Prediction").get_by_test_id("stMetricValue")


def draw(page, paths, *, steps: int = 3) -> None:
    """Draw the strokes (canvas pixels from its top-left corner) with the mouse.

    After each stroke, waits until the page shows the network's reading of the drawing
    so far: the reading on screen is then the reading of all the strokes.
    """
    box = canvas(page).bounding_box()
    for stroke in paths:
        before = page.evaluate(f"() => document.querySelector('{SEEN}')?.getAttribute('src') ?? null")
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
        page.mouse.up()
        try:
            page.wait_for_function(NEW_IMAGE_JS, arg=before, timeout=60_000)
        except PlaywrightTimeout:
            raise AssertionError(
                f"no new reading after the stroke from {stroke[0]} on the canvas at ({box['x']}, {box['y']}); "
                f"{page.evaluate(STATE_JS)}"
            ) from None
        idle(page)  # the rest of the page (the layers) drawn too: a click now interrupts nothing


def idle(page) -> None:
    """The app has finished its run, fragment runs included."""
    wait_for_app(page)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)


def clear(page) -> None:
    """Press Clear and wait for the new, empty canvas, ready to draw on where the old one
    was, and the hint (no prediction shown)."""
    button = page.get_by_role("button", name="Clear")
    button.scroll_into_view_if_needed()
    place = canvas(page).bounding_box()
    page.evaluate(MARK_JS, "old")
    button.click()
    expect(page.get_by_text(HINT)).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stMetric")).to_have_count(0, timeout=30_000)
    idle(page)
    # Where the old one was: after the run, the new canvas has been seen 288 px lower for a
    # moment (under load), and a stroke drawn then missed it.
    page.wait_for_function(READY_CANVAS_JS, arg=place, timeout=30_000)


def read_drawn(page, paths) -> str:
    """Draw on an empty canvas; what the network reads."""
    if page.get_by_test_id("stMetric").count():
        clear(page)
    draw(page, paths)
    return prediction(page).inner_text().strip()


def choose_model(page, name: str) -> None:
    """Pick a model in the sidebar's "Model" select box."""
    box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
    box.click()
    page.get_by_role("option", name=f"{name} (").click()
    expect(box).to_have_value(re.compile(rf"^{re.escape(name)} \("))
    wait_for_app(page)
