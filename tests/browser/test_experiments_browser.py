"""The Experiments page's Participants tab in real headless Chromium: the matrices drawn."""

import shutil
from collections import Counter

import pytest
from playwright.sync_api import expect

from dnnlab import registry, rsa
from dnnlab.architectures import PRESETS
from tests.conftest import wait_for_app
from tests.support import copy_shipped

pytestmark = pytest.mark.browser
SLOW = 300_000  # ms: the first visit loads four networks and computes their RDMs on a loaded machine


def open_participants(page, url: str) -> None:
    page.goto(f"{url}/experiments")
    wait_for_app(page)
    page.get_by_role("tab", name="Participants").click()
    wait_for_app(page)


POINTS = "svg g.mark-text.role-mark text"  # the embedding's digits
POSITIONS = "texts => texts.map((t) => t.getAttribute('transform'))"


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


@pytest.fixture
def forming_model(served_models, small_mnist, monkeypatch):
    """A small network trained for two epochs with snapshots, saved where the app serves
    models, and removed after the test (the other browser tests share the server)."""
    from dnnlab.training import train

    monkeypatch.setenv("DNNLAB_MODELS", str(served_models))
    result = train(PRESETS["mlp-relu"].spec, small_mnist, epochs=2, snapshots=True)
    name = "forming-browser"
    registry.save(
        result.model,
        registry.build_meta(result, data_digest="test", name=name),
        name,
        snapshots=result.snapshots,
    )
    yield name, result.snapshots
    registry.delete(name)


def test_representations_forming_draw_every_digit_and_move_with_the_slider(
    app_page, app_server, forming_model
):
    name, snapshots = forming_model
    app_page.goto(f"{app_server}/experiments")
    wait_for_app(app_page)
    app_page.get_by_role("tab", name="Representations").click()
    wait_for_app(app_page)
    app_page.get_by_test_id("stSelectbox").filter(has_text="Model").click()
    app_page.get_by_role("option", name=name).click()
    wait_for_app(app_page)

    embedding = app_page.get_by_test_id("stVegaLiteChart").filter(has_text="PC 1 of the trained layer")
    points = embedding.locator(POINTS)
    expect(points).to_have_count(len(snapshots.labels), timeout=SLOW)
    assert Counter(points.all_text_contents()) == Counter(str(int(d)) for d in snapshots.labels)
    last = f"epoch {snapshots.epoch[-1]:.2f} · step {snapshots.step[-1]:,}"
    expect(app_page.get_by_text(last, exact=False).first).to_be_visible()
    for layer in snapshots.layers:  # each layer's RDM, drawn
        picture = app_page.get_by_test_id("stImage").filter(has_text=layer).locator("img").last
        expect(picture).to_have_js_property("complete", True)
        assert picture.evaluate("img => img.naturalWidth > 0"), layer
    trained = points.evaluate_all(POSITIONS)

    app_page.get_by_test_id("stSlider").get_by_role("slider").press("Home")  # before training
    expect(app_page.get_by_text("epoch 0.00 · step 0", exact=False).first).to_be_visible(timeout=SLOW)
    # The text comes first; the chart is redrawn after it, asynchronously.
    app_page.wait_for_function(
        f"""before => {{
            const chart = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                .find((c) => c.textContent.includes('PC 1 of the trained layer'));
            const now = chart ? ({POSITIONS})([...chart.querySelectorAll('{POINTS}')]) : [];
            return now.length === before.length && now.join() !== before.join();
        }}""",
        arg=trained,
        timeout=SLOW,
    )  # the points move to where the untrained network put them
    expect(points).to_have_count(len(snapshots.labels))


@pytest.fixture
def second_seeds(served_models):
    """Each talk preset's seed-1 run beside its seed 0 on the served app, removed after."""
    names = [f"{preset}-seed1" for preset in PRESETS]
    copy_shipped(served_models, names)
    yield names
    for name in names:
        shutil.rmtree(served_models / name)


def test_seeds_draw_every_pair_of_runs_and_each_preset_pair(app_page, app_server, second_seeds):
    open_participants(app_page, app_server)
    app_page.get_by_text("Seeds as a noise ceiling", exact=True).click()
    wait_for_app(app_page)
    runs = 2 * len(PRESETS)
    charts_drawn = app_page.get_by_test_id("stVegaLiteChart")
    expect(charts_drawn).to_have_count(4, timeout=SLOW)  # per measure: the pairs, the preset means
    for measure in range(2):
        pairs, means = charts_drawn.nth(2 * measure), charts_drawn.nth(2 * measure + 1)
        # Every pair of runs a tick, and a bar for each kind (between seeds, between architectures).
        expect(pairs.locator("svg g.mark-rect.role-mark path")).to_have_count(runs * (runs - 1) // 2 + 2)
        expect(means.locator("svg g.mark-rect.role-mark path")).to_have_count(len(PRESETS) ** 2)
    metrics = app_page.get_by_test_id("stMetric")
    expect(metrics).to_have_count(2)
    for text in metrics.all_inner_texts():
        assert "between seeds" in text and "between architectures" in text, text
