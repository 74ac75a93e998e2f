"""A lecture hall on one server: N students draw and predict while the lecturer trains.

Starts `streamlit run app.py` (or takes --url). The lecturer is a real headless Chromium
on the same machine, as on a laptop driving the projector: it trains the CNN on full
MNIST from the Train page and waits for the test accuracy. The N students each sit at
their own laptop, so their browsers do not share the server's CPU: each is a Streamlit
session over its own websocket (`streamlit_client.Session`), sending what the canvas
sends at a stroke's mouse-up (the drawing as a PNG) and reading the prediction the
server sends back. Students arrive over `--arrival` seconds, then each draws a digit
every `--pause` seconds until they have drawn `--drawings` and the training is over.

Prints errors (target 0: an exception on a page, a session that failed, or training
that did not finish), the time from sending a drawing to receiving its prediction
(median, p95; overall and while training ran), how many drawn digits were read right,
and the peak resident memory of the server and its training process (target ≤ 1.5 GB).

    python bench/load.py [--sessions 20] [--drawings 5] [--epochs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from draw_latency import CHROMIUM_FLAGS, digit_paths, render, start_server, summary  # noqa: E402
from streamlit_client import Session  # noqa: E402
from streamlit_client import canvas_state as png_state  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far, its children excluded."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemoryWatch(threading.Thread):
    """Samples the memory of a process and its children every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.samples, self.running = pid, 0, [], True
        self.peaks: dict[int, int] = {}  # each process's own RSS peak
        self.pss_peak = 0

    def tree(self) -> list[int]:
        pids = [self.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.pid:
                    pids.append(int(stat.parent.name))
            except (OSError, IndexError, ValueError):
                continue
        return pids

    @staticmethod
    def memory(pid: int) -> tuple[int, int]:
        """(RSS, PSS) in bytes. PSS splits pages shared between processes, such as
        TensorFlow's libraries mapped by both the server and its training process."""
        with open(f"/proc/{pid}/smaps_rollup") as f:
            fields = dict(line.split(":", 1) for line in f if line[:4] in ("Rss:", "Pss:"))
        return int(fields["Rss"].split()[0]) * 1024, int(fields["Pss"].split()[0]) * 1024

    def run(self):
        while self.running:
            rss_total = pss_total = 0
            for pid in self.tree():
                try:
                    rss, pss = self.memory(pid)
                except (OSError, KeyError):
                    if pid == self.pid:
                        return
                    continue
                rss_total, pss_total = rss_total + rss, pss_total + pss
                self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
            self.samples.append(rss_total)
            self.peak = max(self.peak, rss_total)
            self.pss_peak = max(self.pss_peak, pss_total)
            time.sleep(0.2)


def canvas_state(digit: int) -> dict:
    """What the drawing canvas sends at mouse-up for this digit."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(render(digit_paths(digit))).save(buffer, format="PNG")
    return png_state(buffer.getvalue())


class Hall:
    """Shared results: (sent at, latency ms, drawn, read) per drawing, errors, training span."""

    def __init__(self):
        self.readings: list[tuple[float, float, int, str | None]] = []
        self.errors: list[str] = []
        self.training: tuple[float, float] | None = None
        self.training_done = asyncio.Event()
        self.log: list[str] = []


async def lecturer(browser, url: str, epochs: int, timeout: float, hall: Hall) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    try:
        await page.goto(f"{url}/?preset=cnn&epochs={epochs}")
        await page.get_by_role("button", name="Train", exact=True).click()
        started = time.perf_counter()
        await page.get_by_text("Test accuracy").first.wait_for(timeout=timeout * 1000)
        hall.training = (started, time.perf_counter())
        accuracy = await page.get_by_test_id("stMetric").filter(has_text="Test accuracy").inner_text()
        hall.log.append(
            f"lecturer: CNN, {epochs} epochs on full MNIST in a browser, "
            f"{hall.training[1] - started:.0f} s to the result ({' '.join(accuracy.split())})"
        )
    except Exception as e:
        shot = Path(tempfile.gettempdir()) / "dnnlab-load-lecturer.png"
        await page.screenshot(path=shot, full_page=True)
        hall.errors.append(f"lecturer: {type(e).__name__}: {str(e).splitlines()[0][:160]} (page: {shot})")
    finally:
        hall.training_done.set()
        await context.close()


async def student(url: str, index: int, args, hall: Hall, drawings: dict) -> None:
    await asyncio.sleep(index * args.arrival / max(1, args.sessions))
    try:
        session = await Session.open(url, page="draw")
        canvas = session.element("bidi_component")
        n = 0
        while n < args.drawings or not hall.training_done.is_set():
            digit = (index + n) % 10
            sent = time.perf_counter()
            run = await session.set_json(canvas, drawings[digit])
            read = run.metric("Prediction")
            hall.readings.append((sent, 1000 * (time.perf_counter() - sent), digit, read))
            for message in run.exceptions():
                hall.errors.append(f"student {index}: exception on the page: {message[:160]}")
            if read is None:
                hall.errors.append(f"student {index}: no prediction for a drawn {digit}")
            n += 1
            await asyncio.sleep(args.pause)
        await session.close()
    except Exception as e:  # one failed session is an error, not the end of the run
        hall.errors.append(f"student {index}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")


async def run(url: str, args) -> Hall:
    from playwright.async_api import async_playwright

    hall = Hall()
    drawings = {digit: canvas_state(digit) for digit in range(10)}
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=os.environ.get("DNNLAB_CHROMIUM", "/usr/bin/chromium"),
            headless=True,
            args=CHROMIUM_FLAGS,
        )
        if args.epochs:
            training = asyncio.create_task(lecturer(browser, url, args.epochs, args.timeout, hall))
            await asyncio.sleep(args.head_start)  # the lecture starts with training under way
        else:
            training = asyncio.sleep(0)
            hall.training_done.set()
        await asyncio.gather(*(student(url, i, args, hall, drawings) for i in range(args.sessions)))
        await training
        await browser.close()
    return hall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start one); memory is then not measured")
    parser.add_argument("--sessions", type=int, default=20, help="students drawing at once")
    parser.add_argument("--drawings", type=int, default=5, help="digits each student draws at least")
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between a student's drawings")
    parser.add_argument("--arrival", type=float, default=10.0, help="seconds over which students arrive")
    parser.add_argument("--head-start", type=float, default=5.0, help="seconds training runs before")
    parser.add_argument(
        "--epochs", type=int, default=2, help="epochs of the lecturer's CNN training (0: no training)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the training may take")
    args = parser.parse_args()

    process, url = (None, args.url) if args.url else start_server()
    watch = MemoryWatch(process.pid) if process else None
    if watch:
        watch.start()
    started = time.perf_counter()
    cpu_before = cpu_seconds(process.pid) if process else None
    try:
        hall = asyncio.run(run(url, args))
    finally:
        if watch:
            watch.running = False
        cpu = cpu_seconds(process.pid) - cpu_before if process else None
        if process:
            process.terminate()
            process.wait(timeout=30)
    print(
        f"{args.sessions} students (websocket sessions) drawing every {args.pause:g} s "
        f"+ 1 lecturer training in Chromium, {time.perf_counter() - started:.0f} s in all"
    )
    for line in hall.log:
        print(line)
    print(f"errors: {len(hall.errors)}")
    for e in hall.errors[:10]:
        print(f"  {e}")
    latencies = [ms for _, ms, _, _ in hall.readings]
    print(summary("drawing sent → prediction received", latencies))
    if hall.training:
        begin, end = hall.training
        print(summary("  while training ran", [ms for t, ms, _, _ in hall.readings if begin <= t <= end]))
    right = sum(read == str(drawn) for _, _, drawn, read in hall.readings)
    print(f"drawn digits read right: {right}/{len(hall.readings)}")
    if cpu is not None and hall.readings:
        # Less sensitive to other load on the machine than the latencies: an A/B measure.
        print(
            f"server CPU: {cpu:.1f} s, {cpu / len(hall.readings) * 1000:.1f} ms per drawing "
            "(the lecturer's page and the models' loading included)"
        )
    if watch and watch.samples:
        print(
            f"memory (target <= 1.5 GB): server process RSS peak {watch.peaks.pop(watch.pid, 0) / 2**30:.2f} GB; "
            + "".join(
                f"training process {pid} RSS peak {peak / 2**30:.2f} GB; "
                for pid, peak in watch.peaks.items()
            )
            + f"both together: RSS peak {watch.peak / 2**30:.2f} GB (median {statistics.median(watch.samples) / 2**30:.2f}), "
            f"PSS peak {watch.pss_peak / 2**30:.2f} GB"
        )
    return 1 if hall.errors else 0


if __name__ == "__main__":
    sys.exit(main())
