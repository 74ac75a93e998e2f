"""Time the Draw page's look inside the network.

    .venv/bin/python bench/draw_inside.py                # starts `streamlit run app.py` itself
    .venv/bin/python bench/draw_inside.py --url URL --strokes 40

1. In a real browser (as bench/draw_latency.py): mouse-up → the new prediction *and* every
   live layer picture on screen (each layer image's new source loaded), p50/p95/max.
2. In this process, each analysis view's computation on the shipped models: occlusion
   maps, invariance curves, top-9 test images, activation maximisation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.draw_latency import SETTLE_MS, choose_model, draw, launch, percentile, start_server  # noqa: E402
from tests.support import DIGIT_STROKES, digit_paths, render  # noqa: E402

# As bench/draw_latency.py's probe, but the state on screen is the "Prediction" text and
# the sources of the live layer pictures, counted only once every one of them has loaded.
PROBE_JS = """
(() => {
  const lat = (window.__lat = { ups: [], changes: [], last: null, sends: [] });
  window.addEventListener('mouseup', () => lat.ups.push(performance.now()), true);
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    send(data) { lat.sends.push(performance.now()); return super.send(data); }
  };
  const read = () => {
    const metric = [...document.querySelectorAll('[data-testid="stMetric"]')].find(
      (m) => (m.querySelector('[data-testid="stMetricLabel"]')?.innerText || '').trim() === 'Prediction');
    if (!metric) return null;
    const images = [...document.querySelectorAll('.st-key-draw_layers img')];
    if (!images.length || images.some((i) => !i.complete || !i.naturalWidth)) return null;
    const value = metric.querySelector('[data-testid="stMetricValue"]')?.innerText.trim();
    return JSON.stringify([value, images.map((i) => i.getAttribute('src'))]);
  };
  // The 28×28 image's source alone: when the prediction itself is on screen.
  const seen = () => document.querySelector('img[alt^="the 28×28 image"]')?.getAttribute('src') || null;
  lat.seen = []; let lastSeen = null;
  const check = () => {
    const now = read();
    if (now !== lat.last) { lat.last = now; lat.changes.push([performance.now(), now]); }
    const image = seen();
    if (image !== lastSeen) { lastSeen = image; lat.seen.push([performance.now(), image]); }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  document.addEventListener('load', check, true);  // an image finishing its load changes no DOM
})();
"""


def reset(page) -> None:
    """Empty the canvas in place with its own (hidden) reset button, and wait for the hint.

    In place: a new canvas (Clear) can miss a stroke that starts before it is ready."""
    from playwright.sync_api import expect

    page.locator('button[aria-label="Reset canvas & history"]').dispatch_event("click")
    expect(page.get_by_test_id("stMetric")).to_have_count(0, timeout=60_000)
    expect(page.get_by_text("Draw a digit on the black square")).to_be_visible(timeout=60_000)


def wait_for_everything(page, after: float, timeout: float = 120.0) -> tuple[float, float]:
    """Milliseconds from the mouse-up at `after` to the prediction and all layers on screen,
    and to the prediction's 28×28 image alone."""
    page.wait_for_function(
        f"""(() => {{ const sent = window.__lat.sends.find(t => t > {after});
        return sent !== undefined && window.__lat.changes.some(c => c[0] > sent && c[1] !== null); }})()""",
        timeout=timeout * 1000,
    )
    shown, predicted = page.evaluate(
        f"""(() => {{ const sent = window.__lat.sends.find(t => t > {after});
        return [window.__lat.changes.find(c => c[0] > sent && c[1] !== null)[0],
                window.__lat.seen.find(c => c[0] > sent && c[1] !== null)[0]]; }})()"""
    )
    page.wait_for_function(
        f"performance.now() - window.__lat.changes[window.__lat.changes.length - 1][0] > {SETTLE_MS}",
        timeout=timeout * 1000,
        polling=100,
    )
    return shown - after, predicted - after


def browser_timings(url: str, strokes: int, model: str) -> list[tuple[float, float]]:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.add_init_script(PROBE_JS)
        page.goto(f"{url}/draw")
        expect(page.locator("canvas.upper-canvas")).to_be_visible(timeout=90_000)
        choose_model(page, model)
        single_stroke = [d for d, paths in DIGIT_STROKES.items() if len(paths) == 1]
        times = []
        for i in range(strokes + 2):
            reset(page)
            ms = wait_for_everything(page, draw(page, digit_paths(single_stroke[i % len(single_stroke)])))
            if i >= 2:  # the first strokes load the images' first sources and warm the caches
                times.append(ms)
        browser.close()
    return times


def timed(function, repeats: int = 1) -> float:
    """Seconds for the fastest of `repeats` calls (after one untimed call that traces)."""
    function()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def view_timings() -> None:
    from dnnlab import data, invariance, occlusion, registry, unit_wants
    from dnnlab.architectures import ModelSpec
    from dnnlab.preprocess import prepare
    from dnnlab.probes import LOGITS, probe

    _, (x_test, y_test) = data.load().arrays
    drawing = prepare(render(digit_paths(1)))
    n = invariance.CURVE_IMAGES
    for name in ("cnn", "mlp-relu", "mlp-raw"):
        model, meta = registry.load(name, ROOT / "models")
        p = probe(model, ModelSpec.from_dict(meta["spec"]))
        figures = {
            "occlusion map": timed(lambda p=p: occlusion.occlusion_map(p, drawing), 5),
            "invariance curves": timed(lambda p=p: invariance.accuracy_curves(p, x_test[:n], y_test[:n])),
            "10 class images": timed(lambda p=p: unit_wants.maximise(p, LOGITS)),
        }
        for layer in unit_wants.unit_layers(p):
            figures[f"top 9 of {layer}"] = timed(
                lambda p=p, layer=layer: unit_wants.top_images(p, x_test, layer)
            )
            if p.spec.is_conv:
                figures[f"{layer} channel images"] = timed(
                    lambda p=p, layer=layer: unit_wants.maximise(p, layer)
                )
        print(f"{name}: " + ", ".join(f"{k} {v:.2f} s" for k, v in figures.items()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start `streamlit run app.py`)")
    parser.add_argument("--strokes", type=int, default=30)
    parser.add_argument("--models", nargs="+", default=["cnn", "mlp-relu"])
    parser.add_argument("--skip-views", action="store_true", help="only the browser timings")
    args = parser.parse_args(argv)
    process, url = (None, args.url) if args.url else start_server()
    try:
        for model in args.models:
            everything, prediction = zip(*browser_timings(url, args.strokes, model), strict=True)
            for label, ms in [
                ("prediction and every layer", everything),
                ("the prediction alone", prediction),
            ]:
                print(
                    f"{model}: mouse-up → {label} on screen: median {statistics.median(ms):.0f} ms,"
                    f" p95 {percentile(ms, 95):.0f} ms, max {max(ms):.0f} ms over {len(ms)} strokes"
                )
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=20)
    if not args.skip_views:
        view_timings()
    print(f"(load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
