"""The Train page in real headless Chromium against `streamlit run` (2,000 images)."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TRAINING = 180_000  # ms: generous, the 2-core machine may be busy


def open_train(page, url: str, query: str = ""):
    """The Train page is the app's default page, at `/`."""
    page.goto(f"{url}/{query}")
    expect(page.get_by_role("button", name="Train", exact=True)).to_be_visible(timeout=60_000)
    return page.get_by_test_id("stSidebar")


def train_button(page):
    return page.get_by_role("button", name="Train", exact=True)


def settle(page, sidebar, preset: str):
    """Wait until the rerun after a widget change is over and `preset` is the highlighted one."""
    highlighted = (
        sidebar.locator(f".st-key-train_preset_{preset}").get_by_test_id("stBaseButton-primary").first
    )
    expect(highlighted).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label)


def accuracy_of(page) -> float:
    value = metric(page, "Test accuracy").get_by_test_id("stMetricValue").inner_text()
    return float(value.strip().rstrip("%")) / 100


def test_pick_a_preset_and_train_one_epoch(app_page, app_server):
    page = app_page
    sidebar = open_train(page, app_server)
    expect(page.get_by_text("DNNLAB_TRAIN_LIMIT=2000")).to_be_visible()
    sidebar.get_by_role("button", name="mlp-relu", exact=True).click()
    settle(page, sidebar, "mlp-relu")  # else the preset's rerun can undo the epochs typed next
    epochs = sidebar.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    expect(page).to_have_url(
        re.compile(r"preset=mlp-relu.*epochs=1|epochs=1.*preset=mlp-relu"), timeout=30_000
    )
    settle(page, sidebar, "mlp-relu")

    train_button(page).click()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart.locator("canvas, svg").first).to_be_visible(timeout=TRAINING)
    expect(metric(page, "Test accuracy")).to_be_visible(timeout=TRAINING)
    assert 0.1 < accuracy_of(page) <= 1.0  # better than chance on ten classes
    expect(page.get_by_text("Epoch 1/1")).to_be_visible()
    expect(page.get_by_role("button", name="Download .py")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("layers.Dense(16, activation='relu')")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Waiting for the trainer")).to_have_count(0)


def test_rescaling_the_input_raises_the_accuracy(app_page, app_server):
    page = app_page
    sidebar = open_train(page, app_server, "?preset=mlp-raw&epochs=2")
    settle(page, sidebar, "mlp-raw")
    train_button(page).click()
    expect(metric(page, "Test accuracy")).to_be_visible(timeout=TRAINING)
    raw = accuracy_of(page)

    sidebar.get_by_text("Rescale pixels to 0–1").click()
    expect(page).to_have_url(re.compile(r"preset=mlp-rescaled"))
    settle(page, sidebar, "mlp-rescaled")
    train_button(page).click()
    jump = metric(page, "Test accuracy").filter(has_text="vs previous run")
    expect(jump).to_be_visible(timeout=TRAINING)
    rescaled = accuracy_of(page)
    assert rescaled > raw, (raw, rescaled)
    expect(jump.get_by_test_id("stMetricDelta")).to_contain_text("+")


def test_a_second_session_waits_for_the_trainer(browser, app_server):
    first_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    second_context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        first, second = first_context.new_page(), second_context.new_page()
        # The URL sets the form: a bookmark of "CNN, 100 epochs".
        sidebar = open_train(first, app_server, "?preset=cnn&epochs=100")
        expect(sidebar.get_by_label("Epochs")).to_have_value("100")
        expect(sidebar.get_by_role("textbox", name="Convolution filters")).to_have_value("8, 8")
        settle(first, sidebar, "cnn")
        train_button(first).click()
        expect(first.get_by_text(re.compile(r"Epoch \d+/100"))).to_be_visible(timeout=TRAINING)

        settle(second, open_train(second, app_server, "?preset=mlp-relu&epochs=1"), "mlp-relu")
        train_button(second).click()
        expect(second.get_by_text("Waiting for the trainer — 1 ahead")).to_be_visible(timeout=30_000)
        # Must not happen: the second session training while the first one does.
        expect(second.get_by_text("Epoch 1/1")).to_have_count(0)

        first.get_by_role("button", name="Stop", exact=True).click()
        expect(first.get_by_text("Stopped after")).to_be_visible(timeout=TRAINING)
        expect(metric(first, "Test accuracy")).to_be_visible()
        expect(metric(second, "Test accuracy")).to_be_visible(timeout=TRAINING)
        expect(second.get_by_text("Waiting for the trainer")).to_have_count(0)
    finally:
        first_context.close()
        second_context.close()
