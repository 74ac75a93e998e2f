"""Draw digits with the mouse on the real Draw page and time mouse-up → new prediction.

    .venv/bin/python bench/draw_latency.py               # starts `streamlit run app.py` itself
    .venv/bin/python bench/draw_latency.py --url URL     # or measures a running server
    .venv/bin/python bench/draw_latency.py --strokes 40 --models cnn mlp-relu

For every model it draws the ten digits 0-9 as mouse strokes (the paths below), reads
the "Prediction" metric after each, and counts how many are right; then it draws
`--strokes` single strokes and times, in the browser, from mouse-up to the moment the
metric's text changes. It prints the median and the 95th percentile.

The digit paths are plain data, shared with the unit tests in `tests/support.py`.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import CHROMIUM_FLAGS, DIGIT_STROKES, digit_paths, render  # noqa: E402

# --- the real page in a real browser --------------------------------------------------

# Records, in the page's own clock, every mouse-up, every message to and from the server,
# and every change of what the Draw panel shows (the "Prediction" metric's text and the
# 28×28 image's URL).
PROBE_JS = """
(() => {
  const lat = (window.__lat = { ups: [], changes: [], last: null, sends: [], received: [] });
  window.addEventListener('mouseup', () => lat.ups.push(performance.now()), true);
  // Where the time goes: the app's messages to the server and back.
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => lat.received.push(performance.now()));
    }
    send(data) {
      lat.sends.push(performance.now());
      return super.send(data);
    }
  };
  const read = () => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')].find(
      (m) => (m.querySelector('[data-testid="stMetricLabel"]')?.innerText || '').trim() === 'Prediction');
    if (!metric) return null;
    const value = metric.querySelector('[data-testid="stMetricValue"]')?.innerText.trim();
    const img = document.querySelector('[data-testid="stImage"] img');
    return JSON.stringify([value, img ? img.getAttribute('src') : null]);
  };
  new MutationObserver(() => {
    const now = read();
    if (now !== lat.last) { lat.last = now; lat.changes.push([performance.now(), now]); }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
})();
"""

DEBOUNCE_MS = 200  # streamlit-drawable-canvas alone sends a drawing 200 ms after mouse-up
SETTLE_MS = 1500  # no change for this long after the final send: the reading is final (a busy server may still be answering an earlier stroke)


def start_server(models: Path | None = None, timeout: float = 90.0):
    """`streamlit run app.py` on a free port over a private copy of models/; (process, url)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = Path(tempfile.mkdtemp(prefix="dnnlab-bench-models-"))
    for model in (models or ROOT / "models").iterdir():  # one folder per model
        if model.is_dir():
            shutil.copytree(model, folder / model.name)
    env = {**os.environ, "DNNLAB_MODELS": str(folder)}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)]
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    command += ["--server.fileWatcherType", "none"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("streamlit exited before answering")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"streamlit did not answer within {timeout} s")


def open_draw_page(page, url: str) -> None:
    """Go to the Draw page with the probe installed, and wait for the canvas."""
    from playwright.sync_api import expect

    page.add_init_script(PROBE_JS)
    page.goto(f"{url}/draw")
    expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=60_000)


def choose_model(page, name: str) -> None:
    """Pick a model in the sidebar's "Model" select box."""
    import re

    from playwright.sync_api import expect

    box = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model")
    box.click()
    page.get_by_role("option", name=f"{name} (").click()
    expect(box).to_have_value(re.compile(rf"^{re.escape(name)} \("))
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=60_000)


def reset(page) -> None:
    """Empty the canvas with its own toolbar button (in place, no remount) and wait for the hint."""
    from playwright.sync_api import expect

    # The Draw page hides the canvas's toolbar (see app_pages/canvas.py); its button still works.
    page.get_by_role("button", name="Reset canvas & history").dispatch_event("click")
    expect(page.get_by_test_id("stMetric")).to_have_count(0, timeout=30_000)
    expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=30_000)


def draw(page, paths, *, steps: int = 3) -> float:
    """Draw the strokes (canvas pixels) with the mouse; the page-clock time of the last mouse-up."""
    box = page.locator("canvas.upper-canvas").first.bounding_box()
    for stroke in paths:
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=steps)
        page.mouse.up()
    return page.evaluate("window.__lat.ups[window.__lat.ups.length - 1]")


def wait_for_reading(page, after: float, timeout: float = 30.0) -> tuple[str, dict]:
    """(the final "Prediction" text, timings in ms from the mouse-up at `after`).

    Timings: `shown` (the first new prediction on screen), `sent` (the drawing leaves
    the browser), `answered` (the server's first message back).
    """
    # The first message to the server after the last mouse-up carries the whole drawing.
    page.wait_for_function(
        f"""(() => {{ const sent = window.__lat.sends.find(t => t > {after});
        return sent !== undefined && window.__lat.changes.some(c => c[0] > sent && c[1] !== null); }})()""",
        timeout=timeout * 1000,
    )
    timings = page.evaluate(
        f"""(() => {{
        const l = window.__lat, up = {after};
        const shown = l.changes.find(c => c[0] > up && c[1] !== null)[0];
        const sent = l.sends.find(t => t > up);
        const answered = l.received.find(t => t > sent);
        return {{ shown: shown - up, sent: sent - up, answered: answered - up }};
        }})()"""
    )
    # Let any rerun still queued finish: the reading is final when nothing changes.
    page.wait_for_function(
        f"performance.now() - window.__lat.changes[window.__lat.changes.length - 1][0] > {SETTLE_MS}",
        timeout=timeout * 1000,
        polling=100,
    )
    final = page.evaluate("JSON.parse(window.__lat.last)[0]")
    return final, timings


def read_drawn_digit(page, digit: int, **where) -> str:
    """Draw `digit` on an empty canvas with the mouse; what the "Prediction" metric says."""
    reset(page)
    return wait_for_reading(page, draw(page, digit_paths(digit, **where)))[0]


def launch(playwright):
    return playwright.chromium.launch(
        executable_path=os.environ.get("DNNLAB_CHROMIUM", "/usr/bin/chromium"),
        headless=True,
        args=CHROMIUM_FLAGS,
    )


def predict_timing(repeats: int = 200) -> list[float]:
    """Milliseconds for `inference.predict` on a 280×280 RGBA drawing with the shipped CNN."""
    sys.path.insert(0, str(ROOT))
    from dnnlab import inference, registry
    from dnnlab.architectures import ModelSpec

    model, meta = registry.load("cnn", ROOT / "models")
    spec = ModelSpec.from_dict(meta["spec"])
    image = render(digit_paths(2))
    inference.predict(model, spec, image)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        inference.predict(model, spec, image)
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(name: str, latencies: list[float]) -> str:
    """One line of figures: median, p95 and max of latencies in milliseconds."""
    if not latencies:
        return f"{name}: none"
    return (
        f"{name}: median {statistics.median(latencies):.0f} ms, "
        f"p95 {percentile(latencies, 95):.0f} ms, max {max(latencies):.0f} ms over {len(latencies)}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start `streamlit run app.py`)")
    parser.add_argument("--strokes", type=int, default=30, help="timed strokes (default 30)")
    parser.add_argument("--models", nargs="+", default=["cnn", "mlp-relu"], help="models to read 0-9 with")
    args = parser.parse_args(argv)

    times = predict_timing()
    print(
        f"predict (280×280 RGBA → probabilities, CNN): median {statistics.median(times):.2f} ms, "
        f"p95 {percentile(times, 95):.2f} ms over {len(times)}"
    )

    from playwright.sync_api import sync_playwright

    process, url = (None, args.url) if args.url else start_server()
    try:
        with sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            open_draw_page(page, url)
            for name in args.models:
                choose_model(page, name)
                read = [read_drawn_digit(page, d) for d in range(10)]
                right = sum(r == str(d) for d, r in enumerate(read))
                print(f"{name}: {right}/10 digits drawn with the mouse read right (read {' '.join(read)})")
            single_stroke = [d for d, strokes in DIGIT_STROKES.items() if len(strokes) == 1]
            timings = []
            for i in range(args.strokes):
                reset(page)
                digit = single_stroke[i % len(single_stroke)]
                timings.append(wait_for_reading(page, draw(page, digit_paths(digit)))[1])
            browser.close()
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
    shown = [t["shown"] for t in timings]
    print(
        f"mouse-up → new prediction on screen: median {statistics.median(shown):.0f} ms, "
        f"p95 {percentile(shown, 95):.0f} ms, max {max(shown):.0f} ms over {len(shown)} strokes"
    )
    sent = [t["sent"] for t in timings]
    server = [t["answered"] - t["sent"] for t in timings]
    render_ = [t["shown"] - t["answered"] for t in timings]
    for label, values in [
        ("  mouse-up → drawing sent", sent),
        ("  sent → server's first answer", server),
        ("  first answer → prediction on screen", render_),
    ]:
        print(f"{label}: median {statistics.median(values):.0f} ms, p95 {percentile(values, 95):.0f} ms")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(load average during the run: {load:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
