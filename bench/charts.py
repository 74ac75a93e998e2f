"""Time the chart builders the pages call on every poll or stroke.

The Train page rebuilds the live chart twice a second while a job trains and the Draw
page the probability chart on every stroke, so each must cost milliseconds.

    python bench/charts.py
"""

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dnnlab import charts  # noqa: E402


def per_call_ms(function, repeats: int = 200) -> float:
    function()  # the first call builds and caches the Altair template
    started = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - started) / repeats * 1000


def run_rows(epochs: int, reports_per_epoch: int, final: float) -> list[dict]:
    """`curves` rows of a run reporting `reports_per_epoch` times an epoch."""
    points = np.linspace(1 / reports_per_epoch, epochs, epochs * reports_per_epoch)
    values = final - (final - 0.1) * np.exp(-3 * points)
    rows = [
        {"epoch": float(e), "metric": "accuracy", "split": "training", "value": float(v)}
        for e, v in zip(points, values, strict=True)
    ]
    return rows + [{**r, "metric": "loss", "value": 1.0 - r["value"]} for r in rows]


def main():
    started = time.perf_counter()
    charts.live_specs([], 10)
    print(f"live chart template, first build      {(time.perf_counter() - started) * 1000:7.1f} ms")
    for epochs, earlier in ((1, 0), (10, 0), (10, 3)):
        live = run_rows(epochs, 30, 0.98)  # a report every 0.1 s of a 3 s epoch
        past = [(f"run {i}", run_rows(10, 30, 0.9 + 0.02 * i)) for i in range(earlier)]
        ms = per_call_ms(lambda live=live, past=past: charts.live_specs(live, 10, earlier=past))
        rows = len(live) + sum(len(r) for _, r in past)
        print(
            f"live chart, {epochs:2d} epochs + {earlier} earlier runs ({rows:5,} rows)  {ms:7.2f} ms per poll"
        )
    probabilities = np.full(10, 0.1)
    ms = per_call_ms(lambda: charts.probability_spec(probabilities, 3), repeats=2000)
    print(f"probability chart                          {ms:7.3f} ms per stroke")
    big = charts.probability_spec(probabilities, 3)
    ms = per_call_ms(lambda: charts.for_projector(big), repeats=2000)
    print(f"for_projector on a spec                    {ms:7.3f} ms")


if __name__ == "__main__":
    main()
