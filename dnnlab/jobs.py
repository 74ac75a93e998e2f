"""Background training jobs and the one-at-a-time trainer they queue for.

A `Job` follows one `TrainConfig` in a plain `threading.Thread` that knows nothing of
Streamlit: it has `WORKER` (a separate, lower-priority process, see `dnnlab.worker`)
train the model, relaying `on_progress=...` and `stop_event=...`, and appends each
`Progress` to a buffer the Train page reads. The machine has two cores, so the
process-wide `TRAINER` is the one place that lets one job train at a time; the others
wait their turn, in order. A job nobody looks at any more (its browser session closed)
gives its place up after `HEARTBEAT_TIMEOUT` seconds: the page calls `job.touch()`
whenever it polls.

A shared server bounds what one student can ask of it (`dnnlab.limits`, set by the
lecturer): the size of a network, how long a job trains, how many unfinished jobs one
session may have.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from enum import StrEnum

from dnnlab import limits
from dnnlab.config import ModelSpec, TrainConfig
from dnnlab.progress import Progress
from dnnlab.worker import Worker

HEARTBEAT_TIMEOUT = 30.0  # seconds without a poll before a job counts as abandoned


class State(StrEnum):
    WAITING = "waiting"
    RUNNING = "running"
    TESTING = "testing"  # training has ended; scoring the model on the test set
    DONE = "done"
    STOPPED = "stopped"  # the user pressed Stop (or the time limit came): the model so far is kept
    CANCELLED = "cancelled"  # stopped before it began, or abandoned by its session
    FAILED = "failed"


FINISHED = frozenset({State.DONE, State.STOPPED, State.CANCELLED, State.FAILED})
_ids = itertools.count(1)


class JobRefused(ValueError):
    """A job the server's limits do not allow; the message says which and what to do."""


class Job:
    """One training run: its config, progress so far, and result once finished."""

    def __init__(
        self,
        config: TrainConfig,
        limit: int | None = None,
        *,
        train_fn: Callable | None = None,
        alive: Callable[[], bool] | None = None,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        owner: object = None,
        max_seconds: float | None = None,
    ):
        """`limit`: train and test on the first `limit` images (None: all).
        `alive`, if given, is asked whether the owning session still exists; while it
        answers True the job counts as watched even when nobody polls it. `train_fn`
        has `Worker.train`'s signature; by default the shared training process.
        `owner` (a session id) counts against `DNNLAB_MAX_QUEUED`; `max_seconds` stops
        training that has run longer (default `DNNLAB_MAX_JOB_MINUTES`)."""
        self.id = next(_ids)
        self.config = config
        self.limit = limit
        self.train_fn = train_fn or WORKER.train
        self.alive = alive
        self.heartbeat_timeout = heartbeat_timeout
        self.owner = owner
        self.max_seconds = limits.current().max_job_seconds if max_seconds is None else max_seconds
        self.stop_event = threading.Event()
        self.result = None  # a `training.TrainResult` once trained
        self.error: str | None = None
        self.note: str | None = None  # why the server stopped it, if it did
        self.submitted = time.monotonic()
        self.started: float | None = None
        self.trained: float | None = None  # when training ended (before the test set)
        self.finished: float | None = None
        self._state = State.WAITING
        self._records: list[Progress] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._last_seen = time.monotonic()
        self._abandoned = False
        self._trainer: Trainer | None = None

    # --- what the page reads --------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def active(self) -> bool:
        return self._state not in FINISHED

    def progress(self) -> list[Progress]:
        """A copy of every progress record so far."""
        with self._lock:
            return list(self._records)

    def latest(self) -> Progress | None:
        with self._lock:
            return self._records[-1] if self._records else None

    def ahead(self) -> int:
        """How many jobs will train before this one starts (0 once it runs)."""
        return self._trainer.ahead(self) if self._trainer else 0

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job has finished; False if `timeout` passed first."""
        return self._done.wait(timeout)

    # --- what the page does ---------------------------------------------------

    def touch(self) -> None:
        """Heartbeat: someone is still watching this job."""
        self._last_seen = time.monotonic()

    def stop(self) -> None:
        """Stop training at the next step (a waiting job never starts)."""
        self.stop_event.set()

    # --- the thread -----------------------------------------------------------

    def abandoned(self) -> bool:
        """True once nobody has polled the job for `heartbeat_timeout` seconds."""
        if self.alive is not None:
            try:
                if self.alive():
                    self.touch()
            except Exception:
                pass  # a failing probe counts as "not known to be alive"
        return time.monotonic() - self._last_seen > self.heartbeat_timeout

    def _on_progress(self, record: Progress) -> None:
        with self._lock:
            self._records.append(record)
        if self.abandoned():
            self._abandoned = True
            self.stop_event.set()
        if time.monotonic() - self.started > self.max_seconds and not self.stop_event.is_set():
            self.note = (
                f"stopped at the server's limit of {self.max_seconds / 60:g} minutes per job "
                "(DNNLAB_MAX_JOB_MINUTES)"
            )
            self.stop_event.set()

    def _on_testing(self) -> None:
        self.trained = time.monotonic()
        self._state = State.TESTING

    def _run(self) -> None:
        trainer = self._trainer
        try:
            if not trainer._acquire(self):
                self._finish(State.CANCELLED)
                return
            try:
                self.started = time.monotonic()
                self._state = State.RUNNING
                resumed = (
                    {} if self.config.resume_from is None else {"initial_weights": saved_weights(self.config)}
                )
                result = self.train_fn(
                    self.config.spec,
                    self.limit,
                    **self.config.train_kwargs(),
                    **resumed,
                    on_progress=self._on_progress,
                    on_testing=self._on_testing,
                    stop_event=self.stop_event,
                )
                self.trained = self.trained or time.monotonic()
                if self._abandoned:
                    self._finish(State.CANCELLED)
                    return
                self.result = result
                self._finish(State.STOPPED if result.stopped or self.stop_event.is_set() else State.DONE)
            finally:
                trainer._release(self)
        except Exception as e:
            self.error = f"{type(e).__name__}: {e}"
            self.traceback = traceback.format_exc()
            self._finish(State.FAILED)

    def _finish(self, state: State) -> None:
        self.finished = time.monotonic()
        self._state = state
        self._done.set()

    def __repr__(self):
        return f"<Job {self.id} {self._state.value} {self.config.preset or 'custom'}>"


class Trainer:
    """Lets one job train at a time; the others wait in the order they came."""

    def __init__(self, poll: float = 0.1):
        self.poll = poll
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._running: Job | None = None

    def submit(self, job: Job) -> Job:
        """Queue a job and start its thread; it trains when every job before it is done.

        Raises `JobRefused` if its owner already has `DNNLAB_MAX_QUEUED` unfinished jobs.
        """
        cap = limits.current().max_queued
        with self._cond:
            if job.owner is not None:
                mine = [j for j in [self._running, *self._queue] if j is not None and j.owner == job.owner]
                if len(mine) >= cap:
                    raise JobRefused(
                        f"you already have {len(mine)} unfinished training job{'s' if len(mine) > 1 else ''} "
                        f"(the server allows {cap} per browser session, DNNLAB_MAX_QUEUED): "
                        "stop it or wait for it to finish"
                    )
            job._trainer = self
            self._queue.append(job)
        threading.Thread(target=job._run, name=f"dnnlab-train-{job.id}", daemon=True).start()
        return job

    @property
    def running(self) -> Job | None:
        return self._running

    def waiting(self) -> list[Job]:
        with self._cond:
            return list(self._queue)

    def ahead(self, job: Job) -> int:
        with self._cond:
            if job is self._running or job not in self._queue:
                return 0
            return self._queue.index(job) + (self._running is not None)

    def _acquire(self, job: Job) -> bool:
        """Wait for the slot; False if the job was stopped or abandoned while waiting."""
        with self._cond:
            while True:
                if job.stop_event.is_set() or job.abandoned():
                    self._queue.remove(job)
                    self._cond.notify_all()
                    return False
                if self._running is None and self._queue[0] is job:
                    self._queue.pop(0)
                    self._running = job
                    return True
                self._cond.wait(self.poll)

    def _release(self, job: Job) -> None:
        with self._cond:
            if self._running is job:
                self._running = None
            self._cond.notify_all()


TRAINER = Trainer()  # one per server process: the machine has two cores
WORKER = Worker()  # the process TRAINER's jobs train in, started on first use


def warm_up() -> None:
    """Start the training process now, so the first Train click does not wait ~3 s for
    it to import TensorFlow."""
    WORKER.start()


def check_size(config: TrainConfig) -> int:
    """The network's parameter count, or `JobRefused` if it or its batches are over the
    server's limits (`DNNLAB_MAX_PARAMS`, `DNNLAB_MAX_TRAINING_MB`)."""
    bounds, spec, batch = limits.current(), config.spec, config.hyper.batch_size
    count = limits.parameters(spec)
    if count > bounds.max_params:
        raise JobRefused(
            f"this network has {count:,} parameters, over the server's limit of {bounds.max_params:,} "
            "(DNNLAB_MAX_PARAMS): use fewer or narrower layers, or pooling after the convolutions"
        )
    needed = limits.batch_bytes(spec, batch)
    if needed > bounds.max_training_bytes:
        raise JobRefused(
            f"batches of {batch:,} images through this network take about {needed / 2**20:,.0f} MB, "
            f"over the server's limit of {bounds.max_training_bytes / 2**20:,.0f} MB (DNNLAB_MAX_TRAINING_MB): "
            "use smaller batches, or pooling after the convolutions"
        )
    return count


def saved_weights(config: TrainConfig) -> list:
    """The weights of the saved model `config.resume_from` (loaded in the job's thread,
    never the page's); a `ValueError` if it is not the network `config` trains."""
    from dnnlab import registry

    model, meta = registry.load(config.resume_from)
    if ModelSpec.from_dict(meta["spec"]) != config.spec:
        raise ValueError(f"{config.resume_from!r} is another network: only the same one can train on")
    return model.get_weights()


def start(config: TrainConfig, limit: int | None = None, **job_kwargs) -> Job:
    """Queue a job on the process-wide trainer (`JobRefused` if the limits forbid it)."""
    check_size(config)
    return TRAINER.submit(Job(config, limit, **job_kwargs))
