"""A phone joins the room in Playwright's mobile emulation and draws with real touch
events; the projector's Room page, in a second browser context, shows the drawing."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_for_app
from tests.support import digit_paths

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}  # a common phone's CSS viewport


def metric_value(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def touch_draw(page, paths, box) -> None:
    """Draw the strokes with the finger: CDP touch events, as a touch screen sends them."""
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, points) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    for stroke in paths:
        at = [{"x": box["x"] + x, "y": box["y"] + y} for x, y in stroke]
        touch("touchStart", [at[0]])
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
            for step in (1, 2, 3):  # a finger reports several points between path corners
                t = step / 3
                touch("touchMove", [{"x": box["x"] + x0 + (x1 - x0) * t, "y": box["y"] + y0 + (y1 - y0) * t}])
        touch("touchEnd", [])
    cdp.detach()


@pytest.fixture
def projector(app_page):
    return app_page  # the lecturer's laptop: conftest's desktop browser context


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def test_a_phone_draws_with_its_finger_and_the_projector_shows_the_drawing(projector, phone, app_server):
    projector.goto(f"{app_server}/room")
    wait_for_app(projector)
    projector.get_by_role("button", name="Open a room").click()
    expect(projector.get_by_role("img", name=re.compile("QR code of http"))).to_be_visible()
    code = re.search(r"room=([A-Z0-9]{5})", projector.url).group(1)
    projector.get_by_role("radiogroup", name="Ask the room for").get_by_role("radio", name="7").click()
    expect(metric_value(projector, "Drawings")).to_have_text("0")

    phone.goto(f"{app_server}/join?room={code}")
    wait_for_app(phone)
    expect(phone.get_by_role("heading", name="Draw a 7")).to_be_visible()
    canvas = phone.locator("canvas.upper-canvas")
    expect(canvas).to_be_visible(timeout=60_000)
    # The canvas is remounted once the phone has told the page its width.
    expect(phone.get_by_text("Draw your digit with a finger")).to_be_visible(timeout=60_000)
    wait_for_app(phone)
    box = canvas.bounding_box()
    assert box["width"] >= 0.85 * PHONE["width"], f"the canvas fills the screen's width: {box}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], "and none of it is off screen"

    side = box["width"]
    touch_draw(phone, digit_paths(7, size=0.65 * side, centre=(side / 2, side / 2)), box)
    expect(metric_value(phone, "cnn")).to_have_text("7", timeout=60_000)
    for network in ("mlp-raw", "mlp-rescaled", "mlp-relu"):
        expect(metric_value(phone, network)).to_have_text(re.compile(r"^\d$"))
    phone.get_by_role("button", name="Send my 7").tap()
    expect(phone.get_by_text("Sent your 7")).to_be_visible()

    expect(metric_value(projector, "Drawings")).to_have_text("1", timeout=30_000)  # refreshes itself
    expect(metric_value(projector, "Phones connected")).to_have_text("1")
    expect(projector.get_by_text("cnn read 7: 1 drawings, 0 meant otherwise")).to_be_visible()
