"""The Experiments page's Participants tab in real headless Chromium: the matrices drawn."""

from collections import Counter

import pytest
from playwright.sync_api import expect

from dnnlab import registry, rsa
from dnnlab.architectures import PRESETS
from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser
SLOW = 300_000  # ms: the first visit loads four networks and computes their RDMs on a loaded machine


def open_participants(page, url: str) -> None:
    page.goto(f"{url}/experiments")
    wait_for_app(page)
    page.get_by_role("tab", name="Participants").click()
    wait_for_app(page)


def stage_count(name: str) -> int:
    return len(rsa.stages(registry.load(name)[0])) - 1  # without the pixels


def test_every_layer_of_the_four_networks_is_a_cell_of_the_second_order_matrix(app_page, app_server):
    open_participants(app_page, app_server)
    layers = sum(stage_count(p) for p in PRESETS)
    matrix = app_page.get_by_test_id("stVegaLiteChart").first
    expect(matrix.locator("svg g.mark-rect.role-mark path")).to_have_count(layers * layers, timeout=SLOW)
    labels = matrix.locator("svg g.role-axis-label").first.locator("text")
    expect(labels).to_have_count(layers)
    first = next(iter(PRESETS))
    expect(labels.first).to_have_text(f"{first} · {rsa.stages(registry.load(first)[0])[1]}")


def test_error_consistency_is_drawn_for_every_pair_once_each_way(app_page, app_server):
    open_participants(app_page, app_server)
    app_page.get_by_text("Behaviour", exact=True).click()
    wait_for_app(app_page)
    kappa = app_page.get_by_test_id("stVegaLiteChart").first
    pairs = len(PRESETS) * (len(PRESETS) - 1)
    expect(kappa.locator("svg g.mark-rect.role-mark path")).to_have_count(pairs, timeout=SLOW)
    numbers = kappa.locator("svg g.mark-text.role-mark text")
    expect(numbers).to_have_count(pairs)
    values = [float(t) for t in numbers.all_text_contents()]
    assert all(-1 <= v <= 1 for v in values), values
    assert all(n % 2 == 0 for n in Counter(values).values()), values  # κ(a, b) = κ(b, a)
    expect(app_page.get_by_text("Only the MLPs get these wrong", exact=False)).to_be_visible()
