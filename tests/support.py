"""Helpers shared by the tests and the benchmarks (`bench/` imports this; tests never
import `bench/`): the app served by `streamlit run`, Chromium's flags on this closed
network, shipped models copied aside, and digits drawn as strokes."""

from __future__ import annotations

import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# The flags a closed network needs: no sandbox (containers), no GPU, no calls home.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# --- the ten digits as pen strokes ----------------------------------------------------
# Each digit is a list of strokes; each stroke a list of (x, y) points in a unit box
# (0, 0) top-left to (1, 1) bottom-right, written the way people write them.


def _arc(cx, cy, rx, ry, start_deg, end_deg, n=24):
    """Points on an ellipse from `start_deg` to `end_deg` (0° = right, 90° = down)."""
    return [
        (
            cx + rx * math.cos(math.radians(start_deg + (end_deg - start_deg) * i / n)),
            cy + ry * math.sin(math.radians(start_deg + (end_deg - start_deg) * i / n)),
        )
        for i in range(n + 1)
    ]


DIGIT_STROKES: dict[int, list[list[tuple[float, float]]]] = {
    0: [_arc(0.5, 0.5, 0.3, 0.45, -90, 275, n=36)],
    1: [[(0.55, 0.05), (0.5, 0.5), (0.45, 0.95)]],
    2: [_arc(0.5, 0.3, 0.3, 0.25, 190, 380, n=16) + [(0.12, 0.95), (0.9, 0.95)]],
    3: [_arc(0.45, 0.27, 0.3, 0.22, 200, 450, n=16) + _arc(0.45, 0.72, 0.33, 0.23, 270, 520, n=16)[1:]],
    4: [[(0.3, 0.05), (0.15, 0.6), (0.85, 0.6)], [(0.65, 0.3), (0.65, 0.95)]],
    5: [[(0.8, 0.05), (0.3, 0.05), (0.25, 0.45)] + _arc(0.5, 0.68, 0.3, 0.27, -120, 150, n=18)],
    6: [[(0.7, 0.05), (0.45, 0.25)] + _arc(0.5, 0.7, 0.3, 0.25, 200, 560, n=24)],
    7: [[(0.12, 0.08), (0.88, 0.08), (0.4, 0.95)]],
    8: [_arc(0.5, 0.27, 0.24, 0.22, 90, 450, n=24), _arc(0.5, 0.73, 0.3, 0.23, -90, 270, n=24)],
    9: [_arc(0.45, 0.3, 0.28, 0.25, 0, 360, n=24), [(0.73, 0.3), (0.72, 0.6), (0.65, 0.95)]],
}


def digit_paths(digit: int, *, size: float = 180, centre=(140, 140), aspect: float = 0.7):
    """The strokes of `digit` in canvas pixels: `size` pixels tall, `aspect` wide for tall."""
    cx, cy = centre
    w, h = size * aspect, size
    return [[(cx + (x - 0.5) * w, cy + (y - 0.5) * h) for x, y in stroke] for stroke in DIGIT_STROKES[digit]]


def render(paths, *, canvas: int = 280, width: int = 20) -> np.ndarray:
    """The strokes drawn as the canvas draws them: white, round-capped, on black RGBA."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 255))
    draw = ImageDraw.Draw(image)
    r = width / 2
    for stroke in paths:
        draw.line(stroke, fill=(255, 255, 255, 255), width=width, joint="curve")
        for x, y in (stroke[0], stroke[-1]):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255, 255))
    return np.asarray(image)


# --- the real app, served ------------------------------------------------------------


def copy_shipped(folder: Path, names) -> Path:
    """Copy shipped models (one folder each: `model.keras` + `meta.json`) into `folder`."""
    import shutil

    for name in names:
        shutil.copytree(ROOT / "models" / name, folder / name)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(
    env_overrides: dict | None = None,
    timeout: float = 60.0,
    *,
    port: int | None = None,
    extra_args: list[str] | None = None,
    log_path: Path | None = None,
):
    """Start `streamlit run app.py` on a free port; return (process, base url).

    The server writes its output to `log_path` (`process.log_path`), not to a pipe
    nobody reads: a full pipe (64 KB of logs) would block the server mid-test.
    """
    port = port or free_port()
    env = {**os.environ, **(env_overrides or {})}
    args = extra_args or ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="dnnlab-streamlit-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
             "--server.fileWatcherType", "none", *args],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    process.log_path = log_path
    url = f"http://127.0.0.1:{port}"
    wait_healthy(process, url, timeout, lambda: log_tail(log_path), "streamlit")
    return process, url


def wait_healthy(process: subprocess.Popen, url: str, timeout: float, log, what: str) -> None:
    """Poll `url`'s `/_stcore/health` until it answers 200; if `process` exits or the time
    runs out, kill it and raise with `log()` (the tail of its log) in the message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited:\n{log()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)  # polling the health endpoint, not waiting for an event
    process.kill()
    raise RuntimeError(f"{what} did not answer /_stcore/health within {timeout} s:\n{log()}")


def log_tail(path: Path, size: int = 4000) -> str:
    """The last `size` characters of a server log."""
    try:
        return path.read_text(errors="replace")[-size:]
    except OSError as e:
        return f"(no log: {e})"


def progress_report(batch: int, *, epoch: int = 1, kind: str = "batch", loss=1.0, accuracy=0.5, val=None):
    """A `Progress` record of a two-epoch run of 100 batches an epoch, as training sends it."""
    from dnnlab.progress import Progress  # imports Keras: only for the tests that use it

    return Progress(
        kind=kind,
        step=(epoch - 1) * 100 + batch,
        epoch=epoch,
        epochs=2,
        batch=batch,
        batches_per_epoch=100,
        loss=loss,
        accuracy=accuracy,
        val_loss=None if val is None else val[0],
        val_accuracy=None if val is None else val[1],
        samples_per_second=1000.0,
        elapsed=1.0,
    )
