"""Models as participants: the table of runs, the staircase with its spread over seeds,
and learning curves, from saved models' metadata (no Keras)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from dnnlab.architectures import PRESETS

CUSTOM = "custom"
PRESET_ORDER: tuple[str, ...] = (*PRESETS, CUSTOM)  # the talk's order, then the rest


def preset_group(meta: Mapping) -> str:
    """The preset a run belongs to, or 'custom'."""
    preset = meta.get("preset")
    return preset if preset in PRESETS else CUSTOM


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def in_talk_order(infos: Iterable) -> list:
    """Saved models (`registry.ModelInfo`) by preset in the talk's order, then by name."""
    rank = {p: i for i, p in enumerate(PRESET_ORDER)}
    return sorted(infos, key=lambda i: (rank[preset_group(i.meta)] if i.ok else len(rank), i.name))


def runs_table(infos: Iterable) -> pd.DataFrame:
    """One row per saved model (`registry.ModelInfo`), broken ones with their error.

    Sorted in the talk's order of presets, then by name.
    """
    rows = []
    for info in in_talk_order(infos):
        s = info.summary()
        rows.append(
            {
                "name": info.name,
                "preset": preset_group(info.meta) if info.ok else None,
                "params": s["params"],
                "epochs": s["epochs"],
                "test_accuracy": _finite(s["test_accuracy"]),
                "train_seconds": _finite(s["train_seconds"]),
                "created": s["created"],
                "error": info.error,
            }
        )
    columns = ["name", "preset", "params", "epochs", "test_accuracy", "train_seconds", "created", "error"]
    table = pd.DataFrame(rows, columns=columns)
    rank = table["preset"].map({p: i for i, p in enumerate(PRESET_ORDER)}).fillna(len(PRESET_ORDER))
    return (
        table.assign(_rank=rank).sort_values(["_rank", "name"]).drop(columns="_rank").reset_index(drop=True)
    )


def staircase(infos: Iterable) -> pd.DataFrame:
    """Usable models with a test accuracy: name, preset, test_accuracy, talk_accuracy."""
    table = runs_table(infos)
    table = table[table["error"].isna() & table["test_accuracy"].notna()]
    talk = {name: p.talk_accuracy for name, p in PRESETS.items()}
    return table.assign(talk_accuracy=table["preset"].map(talk))[
        ["name", "preset", "test_accuracy", "talk_accuracy"]
    ].reset_index(drop=True)


def steps(stairs: pd.DataFrame) -> pd.DataFrame:
    """The staircase's steps: one per talk preset (its runs pooled: seeds are participants
    too, and one run hides how much another seed moves the figure) and one per custom run,
    in the talk's order, then by name.

    Args:
        stairs: one row per run with preset and test_accuracy (as `staircase` returns it);
            name and talk_accuracy are optional.

    Returns:
        Columns step, preset, runs, mean, low, high, talk_accuracy.
    """
    talk = {name: p.talk_accuracy for name, p in PRESETS.items()}
    names = stairs["name"] if "name" in stairs else stairs["preset"]
    step = stairs["preset"].where(stairs["preset"].isin(PRESETS), names)
    grouped = stairs.assign(step=step, talk_accuracy=stairs["preset"].map(talk)).groupby("step", sort=False)
    table = grouped.agg(
        preset=("preset", "first"),
        runs=("test_accuracy", "size"),
        mean=("test_accuracy", "mean"),
        low=("test_accuracy", "min"),
        high=("test_accuracy", "max"),
        talk_accuracy=("talk_accuracy", "first"),
    ).reset_index()
    rank = {p: i for i, p in enumerate(PRESETS)}
    order = table["step"].map(lambda s: (rank.get(s, len(rank)), s))
    return table.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def spread(runs: pd.DataFrame) -> pd.DataFrame:
    """Per talk preset, in the talk's order: runs, mean, min and max test accuracy,
    talk_accuracy (the talk presets' `steps`, as the CLI prints them)."""
    table = steps(runs)
    table = table[table["step"].isin(PRESETS)].rename(columns={"low": "min", "high": "max"})
    return table[["preset", "runs", "mean", "min", "max", "talk_accuracy"]].reset_index(drop=True)


def learning_curves(histories: Mapping[str, Mapping]) -> pd.DataFrame:
    """Per-epoch loss and accuracy of several runs, in long form.

    Args:
        histories: run name → `meta["history"]` (Keras's `History.history`).

    Returns:
        Columns run, epoch (from 1), metric ('loss' or 'accuracy'), split ('training'
        or 'validation'), value.
    """
    rows = []
    for run, history in histories.items():
        for key, values in (history or {}).items():
            split = "validation" if key.startswith("val_") else "training"
            metric = key.removeprefix("val_")
            if metric not in ("loss", "accuracy"):
                continue
            for epoch, value in enumerate(values, start=1):
                if _finite(value) is not None:
                    rows.append((run, epoch, metric, split, float(value)))
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"])
