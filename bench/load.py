"""A lecture hall on one server: N sessions draw and predict while one session trains.

Starts `streamlit run app.py` (or takes --url), opens one headless Chromium with N + 1
browser contexts (each a separate Streamlit session), starts a CNN training run on full
MNIST in one of them, and has the N others draw digits on the Draw page with the mouse,
each waiting for the "Prediction" metric after every drawing. Prints errors (target 0),
the time from mouse-up to the prediction on screen (median, p95), and the server's
resident memory (peak; target ≤ 1.5 GB).

    python bench/load.py [--sessions 20] [--drawings 5] [--epochs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from draw_latency import CHROMIUM_FLAGS, digit_paths, percentile, start_server  # noqa: E402


def prediction(page):
    """The "Prediction" metric of the Draw page."""
    return page.get_by_test_id("stMetric").filter(has_text="Prediction")


class MemoryWatch(threading.Thread):
    """Samples a process's resident set size (VmRSS) every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.samples, self.running = pid, 0, [], True

    def rss(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            line = next(line for line in f if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024

    def run(self):
        while self.running:
            try:
                value = self.rss()
            except (OSError, StopIteration):
                return
            self.samples.append(value)
            self.peak = max(self.peak, value)
            time.sleep(0.2)


async def trainer(browser, url: str, epochs: int, log: list):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    await page.goto(f"{url}/?preset=cnn&epochs={epochs}")
    await page.get_by_role("button", name="Train", exact=True).click()
    started = time.perf_counter()
    await page.get_by_text("Test accuracy").first.wait_for(timeout=600_000)
    log.append(f"trainer: CNN, {epochs} epochs on full MNIST, done in {time.perf_counter() - started:.0f} s")
    await context.close()


async def drawer(browser, url: str, index: int, drawings: int, latencies: list, errors: list):
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(120_000)
    try:
        await asyncio.sleep(index * 0.5)  # students arrive over ten seconds, not in one instant
        await page.goto(f"{url}/draw", wait_until="domcontentloaded")
        canvas = page.locator("canvas.upper-canvas").first
        await canvas.wait_for()
        for n in range(drawings):
            digit = (index + n) % 10
            if n:
                await page.get_by_role("button", name="Reset canvas & history").click()
                await prediction(page).wait_for(state="detached")
            box = await canvas.bounding_box()
            for stroke in digit_paths(digit):
                await page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
                await page.mouse.down()
                for x, y in stroke[1:]:
                    await page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
                await page.mouse.up()
            released = time.perf_counter()
            await prediction(page).wait_for()
            latencies.append(1000 * (time.perf_counter() - released))
            if await page.get_by_test_id("stException").count():
                errors.append(f"session {index}: exception shown on the page")
    except Exception as e:  # a timeout or a crash in one session is an error, not the end
        errors.append(f"session {index}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
    finally:
        await context.close()


async def run(url: str, sessions: int, drawings: int, epochs: int):
    from playwright.async_api import async_playwright

    latencies, errors, log = [], [], []
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=os.environ.get("DNNLAB_CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        training = asyncio.create_task(trainer(browser, url, epochs, log))
        await asyncio.sleep(5)  # let training get under way first
        await asyncio.gather(*(drawer(browser, url, i, drawings, latencies, errors) for i in range(sessions)))
        try:
            await training
        except Exception as e:
            errors.append(f"trainer: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
        await browser.close()
    return latencies, errors, log


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start one); memory is then not measured")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--drawings", type=int, default=5, help="digits each session draws")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the concurrent CNN training")
    args = parser.parse_args()

    process, url = (None, args.url) if args.url else start_server()
    watch = MemoryWatch(process.pid) if process else None
    if watch:
        watch.start()
    started = time.perf_counter()
    try:
        latencies, errors, log = asyncio.run(run(url, args.sessions, args.drawings, args.epochs))
    finally:
        if watch:
            watch.running = False
        if process:
            process.terminate()
            process.wait(timeout=30)
    print(
        f"{args.sessions} drawing sessions × {args.drawings} digits + 1 training session, "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    for line in log:
        print(line)
    print(f"errors: {len(errors)}")
    for e in errors[:10]:
        print(f"  {e}")
    if latencies:
        print(
            f"mouse-up → prediction on screen: median {statistics.median(latencies):.0f} ms, "
            f"p95 {percentile(latencies, 95):.0f} ms over {len(latencies)} drawings"
        )
    if watch and watch.samples:
        print(
            f"server memory (RSS): peak {watch.peak / 2**30:.2f} GB, "
            f"median {statistics.median(watch.samples) / 2**30:.2f} GB (target <= 1.5 GB)"
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
