"""A Keras callback that reports training progress as plain data and honours a stop event.

It knows nothing of Streamlit: it runs in the training process (`dnnlab.worker`), which
sends each `Progress` record it hands to `on_progress` back to the server, where the
Train page reads them from the job.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras


@dataclass(frozen=True)
class Progress:
    """One report: `kind` is "batch" (throttled, and where a stop ended an epoch early) or
    "epoch" (a completed epoch's end, with its validation figures)."""

    kind: str
    step: int  # batches done since training began
    epoch: int  # 1-based epoch the step belongs to
    epochs: int
    batch: int  # batches done in this epoch
    batches_per_epoch: int
    loss: float
    accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    samples_per_second: float
    elapsed: float

    @property
    def fraction_done(self) -> float:
        total = self.epochs * self.batches_per_epoch
        return min(1.0, self.step / total) if total else 0.0

    @property
    def seconds_left(self) -> float:
        done = self.fraction_done
        return self.elapsed * (1 - done) / done if done > 0 else math.inf


def format_seconds(seconds: float) -> str:
    """`75.2` → `'1:15'`; infinity → `'—'`."""
    if not math.isfinite(seconds):
        return "—"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def status_text(latest: Progress, running: bool) -> str:
    """The progress bar's line: where training is, how fast, and how long is left
    (while it runs; once it has ended, how far it got)."""
    where = f"Epoch {latest.epoch}/{latest.epochs} · step {latest.step:,} · {latest.samples_per_second:,.0f} samples/s"
    if running:
        return f"{where} · {format_seconds(latest.seconds_left)} left"
    return f"{where} · {latest.fraction_done:.0%} of the planned steps"


class ProgressCallback(keras.callbacks.Callback):
    """Calls `on_progress(Progress)` at most every `interval` seconds and at epoch ends.

    Batch reports are throttled by time because converting and forwarding every one of
    ~1,900 batches an epoch would slow training for no visible gain.
    """

    def __init__(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        stop_event: threading.Event | None = None,
        *,
        batch_size: int,
        samples: int,
        interval: float = 0.1,
    ):
        super().__init__()
        self.on_progress = on_progress
        self.stop_event = stop_event
        self.batch_size = batch_size
        self.batches_per_epoch = max(1, math.ceil(samples / batch_size))
        self.interval = interval

    def on_train_begin(self, logs=None):
        self.step = 0
        self.epoch = 0
        self.epochs_completed = 0
        self.epoch_seconds: list[float] = []
        self.stopped = False
        self.started = time.perf_counter()
        self.last_report = -math.inf

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self.epoch_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # With steps_per_execution > 1 Keras calls this once per execution, with the
        # index of its last batch (which can overshoot the epoch's end), so the step
        # is derived rather than counted.
        batch = min(batch + 1, self.batches_per_epoch)
        self.step = (self.epoch - 1) * self.batches_per_epoch + batch
        if self.stop_event is not None and self.stop_event.is_set():
            self.model.stop_training = True
            self.stopped = True
        now = time.perf_counter()
        if self.on_progress is not None and now - self.last_report >= self.interval:
            self.last_report = now
            self._report("batch", batch, logs or {}, now)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        now = time.perf_counter()
        self.epoch_seconds.append(now - self.epoch_started)
        if self.stopped:
            # Stopped mid-epoch: report where it stopped, not a full epoch (a part-epoch's
            # loss drawn at the epoch's end made the curve jump).
            kind, batch = "batch", self.step - (self.epoch - 1) * self.batches_per_epoch
        else:
            self.epochs_completed = epoch + 1
            self.step = self.epoch * self.batches_per_epoch
            kind, batch = "epoch", self.batches_per_epoch
        if self.on_progress is not None:
            self._report(kind, batch, logs, now)

    def _report(self, kind: str, batch: int, logs: dict, now: float):
        elapsed = now - self.started

        def number(key):
            value = logs.get(key)
            return None if value is None else float(value)

        self.on_progress(
            Progress(
                kind=kind,
                step=self.step,
                epoch=self.epoch,
                epochs=self.params.get("epochs", 1) if self.params else 1,
                batch=batch,
                batches_per_epoch=self.batches_per_epoch,
                loss=float(logs.get("loss", math.nan)),
                accuracy=float(logs.get("accuracy", math.nan)),
                val_loss=number("val_loss"),
                val_accuracy=number("val_accuracy"),
                samples_per_second=self.step * self.batch_size / elapsed if elapsed > 0 else 0.0,
                elapsed=elapsed,
            )
        )
