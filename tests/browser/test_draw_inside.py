"""Inside the network, on the real Draw page: what is drawn on screen, counted."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.drawing import draw, open_draw_page, prediction, read_drawn
from tests.support import digit_paths

pytestmark = pytest.mark.browser

LAYERS = ".st-key-draw_layers img"
# Every live layer picture loaded (decoded, with a size), and their sources.
LOADED_JS = f"""
() => [...document.querySelectorAll('{LAYERS}')].map((i) => i.complete && i.naturalWidth > 0 ? i.getAttribute('src') : null)
"""


def look_inside(page, view: str) -> None:
    page.locator(".st-key-draw_inside").get_by_text(view, exact=True).click()


def test_each_stroke_redraws_every_hidden_layer_beside_the_prediction(app_page, app_server):
    open_draw_page(app_page, app_server)
    expect(app_page.locator(LAYERS)).to_have_count(0)
    assert read_drawn(app_page, digit_paths(1)) == "1"
    expect(app_page.locator(LAYERS)).to_have_count(4)  # the CNN: two convolutions, two poolings
    for name in ("conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1"):
        expect(app_page.get_by_text(re.compile(rf"^{name}: 8 maps of"))).to_be_visible()
    app_page.wait_for_function(f"({LOADED_JS})().every((s) => s !== null)", timeout=30_000)
    first = app_page.evaluate(LOADED_JS)
    draw(app_page, [[(60, 60), (220, 60)]])  # a bar across the top: a 7
    app_page.wait_for_function(
        f"(before) => ({LOADED_JS})().every((s, i) => s !== null && s !== before[i])",
        arg=first,
        timeout=30_000,
    )
    assert prediction(app_page).inner_text().strip() == "7"


def test_occlusion_draws_two_heat_maps_of_28_by_28_cells(app_page, app_server):
    open_draw_page(app_page, app_server)
    assert read_drawn(app_page, digit_paths(1)) == "1"
    look_inside(app_page, "Occlusion")
    # The heat maps are the charts with a title (the network's name); the bars have none.
    maps = app_page.locator(".stVegaLiteChart").filter(has=app_page.locator(".role-title-text"))
    expect(maps).to_have_count(2, timeout=30_000)
    for i, name in enumerate(["cnn", "mlp-relu"]):
        expect(maps.nth(i).locator(".role-title-text")).to_have_text(name)
        expect(maps.nth(i).locator(".mark-rect.role-mark path")).to_have_count(28 * 28, timeout=30_000)
    expect(app_page.get_by_text(re.compile(r"^cnn reads 1 \("))).to_be_visible()
    expect(app_page.get_by_text(re.compile(r"^mlp-relu reads \d \("))).to_be_visible()


def test_invariance_shows_the_talk_networks_and_their_curves(app_page, app_server):
    open_draw_page(app_page, app_server)
    assert read_drawn(app_page, digit_paths(0)) == "0"
    look_inside(app_page, "Invariance")
    metrics = app_page.get_by_test_id("stMetric")
    expect(metrics).to_have_count(1 + 4, timeout=60_000)  # the prediction, and each talk network
    for name in ("mlp-raw", "mlp-rescaled", "mlp-relu", "cnn"):
        expect(metrics.filter(has_text=name)).to_have_count(1)
    lines = app_page.locator(".stVegaLiteChart .mark-line path")
    expect(lines).to_have_count(2 * 4, timeout=120_000)  # shift and rotation, one line per network
    expect(
        app_page.get_by_alt_text("changed drawing").or_(app_page.get_by_text("changed drawing"))
    ).to_be_visible()


def test_what_units_want_shows_ten_class_images_each_read_as_its_class(app_page, app_server):
    open_draw_page(app_page, app_server)
    look_inside(app_page, "What units want")
    captions = app_page.get_by_test_id("stImageCaption").filter(
        has_text=re.compile(r"^wants \d, read as \d$")
    )
    expect(captions).to_have_count(10, timeout=120_000)
    for digit in range(10):
        expect(app_page.get_by_text(f"wants {digit}, read as {digit}", exact=True)).to_be_visible()
    # Each class image drawn: ten or more pictures decoded, with a size.
    app_page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
        ".filter((i) => i.complete && i.naturalWidth > 0).length >= 10",
        timeout=30_000,
    )
