"""Draw digits with the mouse on the real Draw page and time mouse-up → new prediction.

    .venv/bin/python bench/draw_latency.py               # starts `streamlit run app.py` itself
    .venv/bin/python bench/draw_latency.py --url URL     # or measures a running server
    .venv/bin/python bench/draw_latency.py --strokes 40 --models cnn mlp-relu

For every model it draws the ten digits 0-9 as mouse strokes (the paths below), reads
the "Prediction" metric after each, and counts how many are right; then it draws
`--strokes` single strokes and times, in the browser, from mouse-up to the moment the
metric's text changes. It prints the median and the 95th percentile.

The digit paths are plain data, also used by the unit tests (rendered with PIL).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

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
