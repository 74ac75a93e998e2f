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

# The canvas is ready once it shows its black background: until then (its first drawing is
# still loading) a stroke is wiped when that load completes. It lives in a shadow root.
BLACK_CANVAS_JS = """
() => [...document.querySelectorAll('[data-testid="stBidiComponentIsolated"]')]
  .map((host) => host.shadowRoot && host.shadowRoot.querySelector('canvas.dc-canvas.lower-canvas'))
  .some((c) => c && c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data[3] === 255)
"""


def open_draw_page(page, url: str, query: str = "") -> None:
    """The Draw page, its canvas ready and nothing drawn yet."""
    page.goto(f"{url}/draw{query}")
    wait_for_app(page)
    expect(canvas(page)).to_have_count(1, timeout=60_000)
    expect(page.get_by_text(HINT)).to_be_visible(timeout=60_000)
    page.wait_for_function(BLACK_CANVAS_JS, timeout=60_000)


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
            raise AssertionError(f"no new reading on screen after the stroke from {stroke[0]}") from None
        idle(page)  # the rest of the page (the layers) drawn too: a click now interrupts nothing


def idle(page) -> None:
    """The app has finished its run, fragment runs included."""
    wait_for_app(page)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)


def clear(page) -> None:
    """Press Clear and wait for the new, empty canvas and the hint (no prediction shown)."""
    page.evaluate("document.querySelectorAll('canvas.upper-canvas').forEach(c => c.dataset.old = '1')")
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("canvas.upper-canvas:not([data-old])")).to_have_count(1, timeout=30_000)
    expect(canvas(page)).to_have_count(1, timeout=30_000)
    expect(page.get_by_text(HINT)).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stMetric")).to_have_count(0, timeout=30_000)
    page.wait_for_function(BLACK_CANVAS_JS, timeout=30_000)
    # And the Clear's run finished: a canvas update still on its way would wipe the next
    # stroke (seen once under load, on the first stroke after a Clear).
    idle(page)


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
