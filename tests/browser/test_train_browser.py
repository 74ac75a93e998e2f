"""The Train page in real headless Chromium against `streamlit run` (2,000 images)."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_for_app

pytestmark = pytest.mark.browser

# The first chart's plot is drawn and at least 400 px tall.
TALL_PLOT_JS = """
() => {
  const plot = document.querySelector('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg');
  return plot !== null && plot.getBoundingClientRect().height >= 400;
}
"""
TRAINING = 180_000  # ms: generous, the 2-core machine may be busy
PROJECTOR = {"width": 1280, "height": 720}
WALL = {"width": 1920, "height": 1080}

# Every element inside a metric whose text is wider than its box: what a reader sees cut short.
TRUNCATED_JS = """
(metrics) => metrics.flatMap((metric) =>
  [metric, ...metric.querySelectorAll('*')]
    .filter((el) => el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible')
    .map((el) => el.innerText))
"""


def open_train(page, url: str, query: str = ""):
    """The Train page is the app's default page, at `/`."""
    page.goto(f"{url}/{query}")
    expect(train_button(page)).to_be_visible(timeout=TRAINING)  # the first page load starts TensorFlow
    return page.get_by_test_id("stSidebar")


def train_button(page):
    return page.get_by_role("button", name="Train", exact=True)


def settle(page, sidebar, preset: str):
    """Wait until the rerun after a widget change is over and `preset` is the highlighted one."""
    highlighted = (
        sidebar.locator(f".st-key-train_preset_{preset}").get_by_test_id("stBaseButton-primary").first
    )
    expect(highlighted).to_be_visible(timeout=60_000)
    # The run's own state, not the status widget (shown only after a delay): until the run
    # ends, the form's old widgets stay beside the new ones (seen: two "Batch size" inputs).
    wait_for_app(page)


def click_preset(page, sidebar, preset: str):
    """Click a preset and wait for the form it rebuilds. A preset replaces every widget
    (their keys carry the form's version), so a value typed before the new ones mount
    goes to an old, vanishing widget; when the preset was already the highlighted one,
    `settle` alone cannot tell the rerun has not started yet."""
    epochs = sidebar.locator('[class*="st-key-train_epochs_"]').first.get_attribute("class")
    version = int(re.search(r"st-key-train_epochs_(\d+)", epochs).group(1))
    sidebar.get_by_role("button", name=preset, exact=True).click()
    expect(sidebar.locator(f".st-key-train_epochs_{version + 1}")).to_be_visible(timeout=60_000)
    settle(page, sidebar, preset)


def metric(page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label)


def accuracy_of(page) -> float:
    value = metric(page, "Test accuracy").get_by_test_id("stMetricValue").inner_text()
    return float(value.strip().rstrip("%")) / 100


def new_page(browser, viewport: dict):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def test_pick_a_preset_and_train_one_epoch(app_page, app_server):
    page = app_page
    sidebar = open_train(page, app_server)
    expect(page.get_by_text("DNNLAB_TRAIN_LIMIT=2000")).to_be_visible()
    click_preset(page, sidebar, "mlp-relu")
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
    expect(page.get_by_text("input_layer (InputLayer)")).to_be_visible()
    expect(page.get_by_text("Waiting for the trainer")).to_have_count(0)


def test_a_preset_clicked_while_the_page_loads_shows_the_config_train_uses(browser, app_server):
    """Issue 11 #12: a preset clicked before the number inputs had mounted left them showing
    their minimum (Batch size 1) while Train would use 32."""
    context, page = new_page(browser, WALL)
    try:
        page.goto(app_server)  # no waiting for the script to finish: click as soon as it can be
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_role("button", name="cnn", exact=True).click(timeout=60_000)
        settle(page, sidebar, "cnn")
        expect(sidebar.get_by_label("Batch size")).to_have_value("32")
        expect(sidebar.get_by_label("Epochs")).to_have_value("10")
        expect(sidebar.get_by_label("Learning rate")).to_have_value("0.001")
        expect(sidebar.get_by_role("textbox", name="Convolution filters")).to_have_value("8, 8")
        expect(page).to_have_url(re.compile(r"\?preset=cnn$"))
    finally:
        context.close()


def test_presenting_at_1280_shows_the_results_whole(browser, app_server):
    """Issue 11 #5 and #6: presentation mode on a 1280×720 projector: no warning about the
    `present` key, and no metric value cut short ("9…", "+1.2 points vs …")."""
    context, page = new_page(browser, PROJECTOR)
    try:
        sidebar = open_train(page, app_server, "?present=1&preset=mlp-raw&epochs=1")
        settle(page, sidebar, "mlp-raw")
        expect(page.get_by_text("ignored unknown setting")).to_have_count(0)
        train_button(page).click()
        expect(metric(page, "Test accuracy")).to_be_visible(timeout=TRAINING)
        train_button(page).click()  # the second run's accuracy carries its difference to the first
        expect(metric(page, "Test accuracy").get_by_test_id("stMetricDelta")).to_contain_text(
            "points", timeout=TRAINING
        )
        expect(page.get_by_test_id("stMetric")).to_have_count(4)
        assert page.eval_on_selector_all('[data-testid="stMetric"]', TRUNCATED_JS) == []
        assert re.fullmatch(
            r"\d{1,3}\.\d\d%", metric(page, "Test accuracy").get_by_test_id("stMetricValue").inner_text()
        )
        expect(page).to_have_url(re.compile(r"present=1"))
    finally:
        context.close()


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
    jump = metric(page, "Test accuracy").filter(has_text="points")
    expect(jump).to_be_visible(timeout=TRAINING)
    rescaled = accuracy_of(page)
    assert rescaled > raw, (raw, rescaled)
    expect(jump.get_by_test_id("stMetricDelta")).to_contain_text("+")


def test_a_second_session_waits_for_the_trainer(browser, app_server):
    first_context, first = new_page(browser, WALL)
    second_context, second = new_page(browser, WALL)
    try:
        # The URL sets the form: a bookmark of "CNN, 100 epochs".
        sidebar = open_train(first, app_server, "?preset=cnn&epochs=100")
        expect(sidebar.get_by_label("Epochs")).to_have_value("100")
        expect(sidebar.get_by_role("textbox", name="Convolution filters")).to_have_value("8, 8")
        settle(first, sidebar, "cnn")
        train_button(first).click()
        expect(first.get_by_text(re.compile(r"Epoch \d+/100"))).to_be_visible(timeout=TRAINING)
        # What the room sees while it trains: a big "accuracy now" and a tall chart.
        now = metric(first, "Training accuracy now").get_by_test_id("stMetricValue")
        expect(now).to_have_text(re.compile(r"\d{1,3}\.\d%"))
        # Read in one step in the page: the live chart is redrawn every 0.5 s, and a plot
        # found by one call was gone by the next (its bounding box None) on a loaded run.
        first.wait_for_function(TALL_PLOT_JS, timeout=60_000)

        settle(second, open_train(second, app_server, "?preset=mlp-relu&epochs=1"), "mlp-relu")
        train_button(second).click()
        expect(second.get_by_text("Waiting for the trainer — 1 ahead")).to_be_visible(timeout=30_000)
        # Must not happen: the second session training while the first one does.
        expect(second.get_by_text("Epoch 1/1")).to_have_count(0)

        first.get_by_role("button", name="Stop", exact=True).click()
        expect(first.get_by_text("Stopped after")).to_be_visible(timeout=TRAINING)
        expect(metric(first, "Test accuracy")).to_be_visible()
        # Issue 11 #10: the bar says how far it got, not 100% with "0:00 left".
        expect(first.get_by_text("of the planned steps")).to_be_visible()
        expect(first.get_by_text("0:00 left")).to_have_count(0)
        expect(metric(second, "Test accuracy")).to_be_visible(timeout=TRAINING)
        expect(second.get_by_text("Waiting for the trainer")).to_have_count(0)
    finally:
        first_context.close()
        second_context.close()


def test_the_overfitting_cure_keeps_the_best_epoch_and_says_which(app_page, app_server):
    """ "Cure it" sets dropout and the checkpoint; the result names the kept epoch, whose
    validation loss is the lowest of the run (both figures read from the page)."""
    page = app_page
    sidebar = open_train(page, app_server)
    page.get_by_role("button", name="2. Cure it").click()
    expect(page).to_have_url(re.compile(r"dropout=0\.5"), timeout=60_000)
    # The URL changes in the middle of the run; until the run ends, the form's old widgets
    # are still on the page beside the new ones (a loaded machine once took over 60 s).
    wait_for_app(page)
    expect(sidebar.get_by_label("Epochs")).to_have_value("30")
    train_button(page).click()
    kept = page.get_by_text(re.compile(r"Kept epoch \d+ of 30"))
    expect(kept).to_be_visible(timeout=TRAINING)
    text = kept.inner_text()
    epoch = int(re.search(r"Kept epoch (\d+) of 30", text).group(1))
    lowest, last = (
        float(v) for v in re.search(r"\(([\d.]+); the last epoch's was ([\d.]+)\)", text).groups()
    )
    assert 1 <= epoch <= 30 and lowest <= last
