"""The live training chart (accuracy and loss, earlier runs behind) and its data."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import altair as alt

from dnnlab.charts.style import FIT_WIDTH, without_data

if TYPE_CHECKING:
    from dnnlab.progress import Progress


# --- the live training chart -------------------------------------------------------------

LIVE_HEIGHT = 400  # px of plot: readable at 1920×1080 from the back of a lecture room
SPLIT_COLOURS = {"training": "#1f77b4", "validation": "#ff7f0e"}
EARLIER_COLOUR = "#7f7f7f"
BEST, BEST_COLOUR = "best", "#2ca02c"  # the kept epoch's row (`split`) and its colour


def best_epoch(rows: Iterable[dict]) -> int | None:
    """The epoch of lowest validation loss in `curves`' rows (what `keep_best` keeps so far)."""
    points = [(r["value"], r["epoch"]) for r in rows if r["metric"] == "loss" and r["split"] == "validation"]
    return int(min(points)[1]) if points else None


def curves(records: Iterable[Progress], smoothing: float = 0.05) -> list[dict]:
    """Rows (epoch, metric, split, value) for the loss and accuracy chart.

    Keras reports the running mean since the epoch began; the mean over the batches
    between two reports is recovered from consecutive running means, then smoothed
    with an exponential moving average whose time constant is `smoothing` epochs, so
    the curve looks the same however many batches an epoch has. Each point sits at the
    fraction of the epoch its batches reached, so a run stopped mid-epoch ends mid-epoch.
    Validation figures appear once per completed epoch.
    """
    rows: list[dict] = []
    ema: dict[str, float] = {}
    last_epoch, last_batch, last_mean = 0, 0, {"loss": 0.0, "accuracy": 0.0}
    for r in records:
        if r.epoch != last_epoch:
            last_epoch, last_batch, last_mean = r.epoch, 0, {"loss": 0.0, "accuracy": 0.0}
        x = (r.epoch - 1) + r.batch / r.batches_per_epoch
        if r.batch > last_batch:
            for metric, mean in (("loss", r.loss), ("accuracy", r.accuracy)):
                if not math.isfinite(mean):
                    continue
                chunk = (mean * r.batch - last_mean[metric] * last_batch) / (r.batch - last_batch)
                weight = 1 - math.exp(-(r.batch - last_batch) / (smoothing * r.batches_per_epoch))
                ema[metric] = chunk if metric not in ema else weight * chunk + (1 - weight) * ema[metric]
                value = max(ema[metric], 1e-6)  # the loss axis is logarithmic
                rows.append({"epoch": x, "metric": metric, "split": "training", "value": value})
                last_mean[metric] = mean
            last_batch = r.batch
        if r.kind == "epoch" and r.batch == r.batches_per_epoch:
            for metric, value in (("loss", r.val_loss), ("accuracy", r.val_accuracy)):
                if value is not None and math.isfinite(value):
                    rows.append(
                        {"epoch": float(r.epoch), "metric": metric, "split": "validation", "value": value}
                    )
    return rows


def accuracy_floor(runs: Iterable[list[dict]], margin: float = 0.02) -> float:
    """The bottom of the accuracy axis: just below the second half of every run.

    A run's first moments (10% and climbing) would stretch the axis until 89% and 98%
    sit side by side; the axis is zoomed to where each run has settled instead, and
    the start is cut off at the bottom.
    """
    settled = []
    for rows in runs:
        points = [(r["epoch"], r["value"]) for r in rows if r["metric"] == "accuracy"]
        if points:
            half = max(e for e, _ in points) / 2
            settled += [v for e, v in points if e >= half]
    if not settled:
        return 0.0
    return max(0.0, min(0.9, math.floor((min(settled) - margin) * 20) / 20))


@functools.lru_cache(maxsize=8)
def _live_templates(validation: bool, height: int) -> tuple[dict, dict]:
    """The loss and accuracy specs without data, built and validated by Altair once.

    The Train page polls twice a second; building and validating Altair charts each
    time took enough of the GIL to slow training tenfold, so each poll only fills in
    data and axis ranges (`live_specs`).
    """
    splits = list(SPLIT_COLOURS) if validation else ["training"]
    colour = alt.Color(
        "split:N",
        title=None,
        scale=alt.Scale(domain=splits, range=[SPLIT_COLOURS[s] for s in splits]),
        legend=alt.Legend(orient="bottom") if validation else None,
    )
    live = alt.Chart().transform_filter("!isValid(datum.run)")
    earlier = alt.Chart().transform_filter("isValid(datum.run) && datum.split == 'training'")
    tooltip = ["split:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("value:Q", format=".4f")]

    def panel(metric: str, scale: alt.Scale, axis: alt.Axis) -> dict:
        mine = alt.datum.metric == metric
        faint = earlier.transform_filter(mine)
        last = faint.transform_joinaggregate(last="max(epoch)", groupby=["run"]).transform_filter(
            "datum.epoch == datum.last"
        )
        layers = [
            faint.mark_line(color=EARLIER_COLOUR, opacity=0.4, clip=True).encode(detail="run:N"),
            last.mark_text(align="left", dx=4, color=EARLIER_COLOUR, clip=False).encode(text="run:N"),
            live.transform_filter(mine)
            .transform_filter("datum.split == 'training'")
            .mark_line(clip=True)
            .encode(color=colour, tooltip=tooltip),
            live.transform_filter(mine)
            .transform_filter("datum.split == 'validation'")
            .mark_line(point=True, clip=True)
            .encode(color=colour, tooltip=tooltip),
        ]
        if metric == "loss":  # the kept checkpoint: a rule and a label at the best epoch
            best = live.transform_filter(f"datum.split == '{BEST}'")
            layers += [
                best.mark_rule(color=BEST_COLOUR, strokeDash=[6, 4], strokeWidth=2).encode(
                    y=alt.value(0), y2=alt.value(height)
                ),
                best.mark_text(align="left", dx=6, dy=-10, color=BEST_COLOUR, fontWeight="bold").encode(
                    text="label:N"
                ),
            ]
        chart = alt.layer(*layers).encode(
            x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("value:Q", title=metric, scale=scale, axis=axis),
        )
        return without_data(chart.properties(autosize=FIT_WIDTH, height=height, title=metric).to_dict())

    return (
        panel("loss", alt.Scale(type="log"), alt.Axis()),
        panel("accuracy", alt.Scale(domain=[0, 1]), alt.Axis(format="%")),
    )


def live_specs(
    rows: list[dict],
    epochs: int,
    *,
    earlier: Sequence[tuple[str, list[dict]]] = (),
    validation: bool = True,
    height: int = LIVE_HEIGHT,
    best: int | None = None,
) -> tuple[dict, dict]:
    """Vega-Lite specs, data inline, of the live loss and accuracy charts.

    `rows` come from `curves`; `earlier` runs of this session, (label, their `curves`),
    are drawn faintly behind and labelled at their ends; without a validation split
    there is no validation legend. `best`, an epoch with a validation loss, is marked on
    the loss panel by a rule and its label (the checkpoint `keep_best` keeps).
    """
    loss, accuracy = _live_templates(validation, height)
    kept = [
        {"epoch": r["epoch"], "metric": "loss", "split": BEST, "value": r["value"],
         "label": f"kept: epoch {best} (validation loss {r['value']:.3f})"}
        for r in rows
        if best is not None and r["split"] == "validation" and r["metric"] == "loss" and r["epoch"] == best
    ][:1]  # fmt: skip
    rows = rows + kept
    values = rows + [{**r, "run": label} for label, past in earlier for r in past]
    last_epoch = max([epochs, *(r["epoch"] for _, past in earlier for r in past)])
    floor = accuracy_floor([rows, *(past for _, past in earlier)])
    losses = [v["value"] for v in values if v["metric"] == "loss"] or [0.1, 1.0]

    def filled(template: dict, metric: str, y_domain: list) -> dict:
        # A layer with no rows makes Vega warn in the console ("Infinite extent"), so each
        # poll keeps only the layers it has data for: the earlier runs' (line, labels),
        # the live training line, the live validation points.
        has = {(v.get("run") is None, v["split"]) for v in values if v["metric"] == metric}
        wanted = [
            any(not live for live, _ in has),
            any(not live for live, _ in has),
            (True, "training") in has or not has,
            (True, "validation") in has,
        ] + [(True, BEST) in has] * (len(template["layer"]) - 4)
        encoding = {
            **template["encoding"],
            "x": {**template["encoding"]["x"], "scale": {"domain": [0, last_epoch]}},
            "y": {
                **template["encoding"]["y"],
                "scale": {**template["encoding"]["y"]["scale"], "domain": y_domain},
            },
        }
        layers = [layer for layer, keep in zip(template["layer"], wanted, strict=True) if keep]
        return {**template, "layer": layers, "encoding": encoding, "data": {"values": values}}

    # Both axes' ranges are given, so Vega computes none from (possibly empty) data.
    loss_domain = [min(losses) / 1.2, max(losses) * 1.2]
    return filled(loss, "loss", loss_domain), filled(accuracy, "accuracy", [floor, 1.0])
