"""What the room sees, at projector sizes, presenting and not: every check reads the screen.

One server (the session's `app_server`) and one browser context per screen, reused by
every test of that screen: 1280×720 and 1920×1080, presentation mode off and on.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.drawing import canvas, open_draw_page, read_drawn
from tests.conftest import wait_for_app
from tests.support import digit_paths

pytestmark = pytest.mark.browser

SCREENS = [(w, h, present) for w, h in [(1280, 720), (1920, 1080)] for present in (False, True)]
PAGES = ["", "model", "draw", "experiments"]  # the Train page is the app's root
TRAINING = 180_000  # ms: generous, the 2-core machine may be busy

# Streamlit looks for its server under the page's path first (/draw/_stcore/health),
# then at the root: those two 404s are its own start-up, not our pages.
STREAMLIT_PROBES = re.compile(r"/_stcore/(health|host-config)$")

# Every element of a metric's value, and whether its text is cut (shown with an ellipsis).
TRUNCATED_METRICS_JS = """
() => [...document.querySelectorAll('[data-testid="stMetricValue"]')].flatMap((value) =>
  [value, ...value.querySelectorAll('*')]
    .filter((e) => e.scrollWidth > e.clientWidth)
    .map(() => value.innerText))
"""

# The label of every button whose text is cut ("mlp-r…").
TRUNCATED_BUTTONS_JS = """
() => [...document.querySelectorAll('button [data-testid="stMarkdownContainer"]')]
  .filter((label) => [label, ...label.querySelectorAll('*')].some((e) => e.scrollWidth > e.clientWidth))
  .map((label) => label.innerText)
"""

# The contrast ratio (WCAG) of each primary button's label against the button.
PRIMARY_CONTRAST_JS = """
() => {
  const luminance = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  return [...document.querySelectorAll('[data-testid="stBaseButton-primary"]')].map((button) => {
    const label = button.querySelector('p') || button;
    const [a, b] = [luminance(getComputedStyle(label).color), luminance(getComputedStyle(button).backgroundColor)];
    return [button.innerText, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}
"""

# The element a person would hit at (x, y), looking inside shadow roots (the canvas lives in one).
ELEMENT_AT_JS = """
([x, y]) => {
  let element = document.elementFromPoint(x, y);
  while (element && element.shadowRoot) {
    const inner = element.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === element) break;
    element = inner;
  }
  return element ? element.tagName.toLowerCase() + '.' + [...element.classList].join('.') : null;
}
"""


def screen_id(screen) -> str:
    w, h, present = screen
    return f"{w}x{h}-{'present' if present else 'plain'}"


@pytest.fixture(scope="module", params=SCREENS, ids=screen_id)
def screen(request, browser, app_server):
    """(page, url suffix, presenting) for one screen; the page records console problems."""
    w, h, present = request.param
    context = browser.new_context(viewport={"width": w, "height": h})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.console_problems = []
    page.on(
        "console",
        lambda m: (
            m.type in ("error", "warning")
            and not STREAMLIT_PROBES.search(m.location.get("url", ""))
            and page.console_problems.append(f"{m.type}: {m.text}")
        ),
    )
    yield page, ("?present=1" if present else ""), present
    context.close()


def open_page(page, url: str, path: str, query: str) -> None:
    page.goto(f"{url}/{path}{query}")
    wait_for_app(page)


def test_a_stroke_started_at_the_top_edge_is_read_and_the_chart_draws_ten_bars(screen, app_server):
    page, query, _ = screen
    open_draw_page(page, app_server, query)
    canvas(page).hover()  # the canvas's own toolbar used to appear on hover, over the drawing's top
    # One stroke from 5 px below the top edge, near the right: a press swallowed there
    # leaves the canvas blank.
    five = digit_paths(5, size=250, centre=(140, 117.5))
    assert 4 <= five[0][0][1] <= 6 and five[0][0][0] > 180
    assert read_drawn(page, five) == "5"
    assert page.evaluate(TRUNCATED_METRICS_JS) == [], "the prediction is cut short"

    chart = page.get_by_test_id("stVegaLiteChart")
    expect(chart.locator("svg g.mark-rect path")).to_have_count(10)
    labels = chart.locator("svg g.role-axis-label").first.locator("text")
    expect(labels).to_have_text([str(d) for d in range(10)])
    assert page.console_problems == []


def test_the_whole_canvas_is_drawable_and_covers_nothing(screen, app_server):
    page, query, _ = screen
    open_draw_page(page, app_server, query)
    canvas(page).hover()
    box = canvas(page).bounding_box()
    assert box["width"] >= 280 and box["height"] >= 280, box
    left, top = box["x"] + 1, box["y"] + 1
    right, bottom = box["x"] + box["width"] - 1, box["y"] + box["height"] - 1
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    edges = {
        "top left": (left, top), "top": (middle_x, top), "top right": (right, top),
        "right": (right, middle_y), "bottom right": (right, bottom), "bottom": (middle_x, bottom),
        "bottom left": (left, bottom), "left": (left, middle_y),
    }  # fmt: skip
    for where, point in edges.items():
        hit = page.evaluate(ELEMENT_AT_JS, list(point))
        assert hit is not None and "upper-canvas" in hit.split("."), f"{where} {point}: {hit}"
    for tab in ("Draw", "Upload an image"):  # nothing of the canvas's lies over the tabs
        tab_box = page.get_by_role("tab", name=tab).bounding_box()
        centre = [tab_box["x"] + tab_box["width"] / 2, tab_box["y"] + tab_box["height"] / 2]
        assert page.evaluate(ELEMENT_AT_JS, centre) != "div.dc-toolbar", tab


@pytest.mark.parametrize("path", PAGES)
def test_every_page_shows_no_error_no_cut_metric_and_its_captions(screen, app_server, path):
    page, query, present = screen
    open_page(page, app_server, path, query)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert page.evaluate(TRUNCATED_METRICS_JS) == [], "metric values cut short"
    assert page.evaluate(TRUNCATED_BUTTONS_JS) == [], "button labels cut short"
    faint = [(label, round(ratio, 1)) for label, ratio in page.evaluate(PRIMARY_CONTRAST_JS) if ratio < 4.5]
    assert faint == [], "primary buttons whose label is hard to read"
    captions = page.get_by_test_id("stCaptionContainer")
    assert captions.count() > 0, "every page explains itself in a caption"
    for i in range(captions.count()):
        expect(captions.nth(i)).to_be_visible()
    size = captions.first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= (18 if present else 12), f"caption font {size}px"
    assert page.console_problems == []


def presenting(page) -> bool:
    return page.get_by_test_id("stSidebar").get_by_role("switch", name="Presentation mode").is_checked()


def test_the_mode_warns_nothing_and_survives_navigation_and_reload(screen, app_server):
    """`?present=1` (or its absence) holds on every page and after a reload."""
    page, query, present = screen
    open_page(page, app_server, "", query)
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    nav = page.get_by_test_id("stSidebarNav")
    for name, path in [("Draw", "draw"), ("Model", "model"), ("Experiments", "experiments"), ("Train", "")]:
        nav.get_by_role("link", name=name).click()
        expected = rf"/{path}\?(.*&)?present=1" if present else rf"/{path}(\?(?!.*present=1).*)?$"
        expect(page).to_have_url(re.compile(expected))
        wait_for_app(page)
        assert presenting(page) == present, f"presentation mode changed on the way to {name}"
        root_font = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert (root_font >= 20) == present, f"{name}: {root_font}px type with presentation mode {present}"
    page.reload()
    wait_for_app(page)
    assert presenting(page) == present, "presentation mode changed on reload"
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    assert page.console_problems == []


def test_start_here_sets_the_train_form_to_each_step_of_the_talk(screen, app_server):
    page, query, _ = screen
    open_page(page, app_server, "", query)
    sidebar = page.get_by_test_id("stSidebar")
    for step, preset in [("4. Convolutions", "cnn"), ("1. Raw pixels", "mlp-raw")]:
        page.get_by_role("button", name=step).click()
        expect(page).to_have_url(re.compile(rf"preset={preset}"))
        wait_for_app(page)
        chosen = sidebar.get_by_role("button", name=preset, exact=True)
        expect(chosen).to_have_attribute("data-testid", "stBaseButton-primary")
    assert page.console_problems == []


# Each metric's text, its box's left and right edges, and its value's font size (px).
METRIC_BOXES_JS = """
() => [...document.querySelectorAll('[data-testid="stMetric"]')].map((metric) => {
  const box = metric.getBoundingClientRect();
  const value = metric.querySelector('[data-testid="stMetricValue"]');
  return [metric.innerText, box.left, box.right, parseFloat(getComputedStyle(value).fontSize)];
})
"""


def test_an_open_rooms_counts_are_side_by_side_and_readable(screen, app_server):
    """The projector's "Phones connected" and "Drawings", sized to their content: once,
    presenting, they collapsed onto each other with values a few pixels high."""
    page, query, present = screen
    open_page(page, app_server, "room", query)
    page.get_by_role("button", name="Open a room").click()
    page.wait_for_url(re.compile(r"[?&]room="))
    wait_for_app(page)
    expect(page.get_by_test_id("stMetric")).to_have_count(2)
    boxes = sorted(page.evaluate(METRIC_BOXES_JS), key=lambda b: b[1])
    assert [text.split("\n")[0] for text, *_ in boxes] == ["Phones connected", "Drawings"], boxes
    (_, _, first_right, _), (_, second_left, _, _) = boxes
    assert first_right <= second_left, f"the counts overlap: {boxes}"
    assert all(size >= 28 for *_, size in boxes), f"a count too small to read from the back: {boxes}"
    assert page.evaluate(TRUNCATED_METRICS_JS) == [], "metric values cut short"
