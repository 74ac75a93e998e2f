"""Training in a separate, lower-priority process, so the server stays responsive.

Training keeps both cores busy. Inside the server process it shared TensorFlow's thread
pools and Python's GIL with every student's prediction, and on a 2-core machine a
drawing waited seconds behind training steps. Here one long-lived child process (a
`multiprocessing` spawn-context `Process`) trains one job at a time at a lower
scheduling priority (`NICENESS`): it gets whatever CPU the server leaves, and
predictions come first. The `Trainer` in `dnnlab.jobs` hands it one job at a time.

The two talk over a `multiprocessing.Pipe`; only small things cross it:

    server → child   ("train", spec dict, train kwargs, image limit) | ("stop",)
    child → server   ("ready",) | ("alive",) every `HEARTBEAT` s | ("progress", Progress)
                     | ("testing",) | ("done", weights, fields) | ("error", message)

The child loads (and verifies) MNIST itself, and sends the trained weights back as
arrays, which the server puts into the network its spec builds: no temporary files.

A watchdog guards the server against a child that stops answering (frozen by
`kill -STOP`, deadlocked, swapping): after `DNNLAB_STALL_SECONDS` of silence the child is
killed, the job fails with a clear message and a fresh child is started. A Stop that the
child does not honour within `DNNLAB_STOP_GRACE_SECONDS` is escalated the same way. When
the server goes away the child sees the pipe close and exits.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from typing import TYPE_CHECKING

from dnnlab import limits
from dnnlab.config import ModelSpec

if TYPE_CHECKING:  # the child imports this module first: TensorFlow must wait (see child_main)
    from dnnlab.progress import Progress

NICENESS = 10  # below the server's interactive work, above nothing else
START_TIMEOUT = 120.0  # seconds for the child to import TensorFlow and say "ready"
HEARTBEAT = 1.0  # seconds between the child's "alive" messages
POLL = 0.05  # seconds between looks at the stop event while waiting for messages
_spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked TensorFlow state


def _start_without_main(process) -> None:
    """Start a spawned process without it importing this process's `__main__`.

    Spawn re-imports the parent's `__main__` in the child. Under Streamlit that is the
    page's script (Streamlit installs it as `__main__` while it runs), which would then
    run inside the training process and start a training process of its own.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        process.start()
    finally:
        sys.modules["__main__"] = main


class WorkerError(RuntimeError):
    """The training process failed to start, stopped answering or ended mid-job."""


class TrainingError(WorkerError):
    """Training raised an error in the child, which is ready for the next job."""


LOST = "this run is lost, the saved models are not affected: train again"


# --- the server's side ----------------------------------------------------------------


class Worker:
    """A handle on the training child; `train` has `training.train`'s signature, except
    that it takes the number of images to load (None: all) instead of the arrays.

    One job at a time is the caller's business (`jobs.Trainer` queues them); the lock
    here only keeps two threads from starting or replacing the child at once.
    """

    def __init__(self, niceness: int = NICENESS):
        self.niceness = niceness
        self._process = None
        self._conn = None
        self._ready = False  # the child has imported TensorFlow and said so
        self._lifecycle = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the child now if it is not running (it then imports TensorFlow in the
        background, so the first training does not wait for it). Never blocks."""
        with self._lifecycle:
            self._ensure_started()

    def _ensure_started(self):
        if self._process is None or not self._process.is_alive():
            self._discard()
            ours, theirs = _spawn.Pipe()
            process = _spawn.Process(
                target=child_main, args=(theirs, self.niceness), name="dnnlab-training", daemon=True
            )
            _start_without_main(process)
            theirs.close()  # the child holds the only other end: its death means end-of-file
            self._process, self._conn, self._ready = process, ours, False
        return self._process, self._conn

    def _discard(self) -> None:
        """Kill the child (if any) and forget it; a new one starts on demand."""
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()  # SIGKILL ends a stopped (SIGSTOP) process too
            self._process.join(timeout=10)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None
        self._ready = False

    def _replace(self) -> None:
        with self._lifecycle:
            self._discard()
            self._ensure_started()  # warm, so the next job does not wait for TensorFlow

    def _receive(self, conn, timeout: float):
        """The next message, or None if none came within `timeout` seconds."""
        try:
            if not conn.poll(timeout):
                return None
            return conn.recv()
        except (EOFError, OSError):
            code = self._process.exitcode if self._process else None
            self._replace()
            raise WorkerError(f"the training process ended unexpectedly (exit code {code}); {LOST}") from None

    def wait_ready(self) -> None:
        """Start the child if need be and wait until it has loaded TensorFlow."""
        with self._lifecycle:
            _, conn = self._ensure_started()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._ready:
            message = self._receive(conn, max(0.0, deadline - time.monotonic()))
            if message is None:
                self._replace()
                raise WorkerError(f"the training process did not start within {START_TIMEOUT:.0f} s")
            self._ready = message == ("ready",)

    def train(
        self,
        spec: ModelSpec,
        limit: int | None = None,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        on_testing: Callable[[], None] | None = None,
        stop_event: threading.Event | None = None,
        **kwargs,
    ):
        """Train in the child and return a `training.TrainResult` holding the model."""
        self.wait_ready()
        conn = self._conn
        try:
            conn.send(("train", spec.to_dict(), kwargs, limit))
        except OSError as e:
            self._replace()
            raise WorkerError(f"cannot reach the training process: {e}") from None
        try:
            return self._relay(conn, spec, on_progress, on_testing, stop_event)
        except WorkerError:
            raise  # reported by the child, which carries on, or the child was replaced
        except BaseException:
            # The child may still be training this job and would send its messages to
            # the next one: start afresh instead.
            self._replace()
            raise

    def _relay(self, conn, spec, on_progress, on_testing, stop_event):
        """Pass progress on and the stop event back until the child is done."""
        bounds = limits.current()
        heard = time.monotonic()
        stop_sent: float | None = None
        while True:
            now = time.monotonic()
            if stop_event is not None and stop_event.is_set() and stop_sent is None:
                conn.send(("stop",))
                stop_sent = now
            if stop_sent is not None and now - stop_sent > bounds.stop_grace_seconds:
                self._replace()
                raise WorkerError(
                    f"the training process did not stop within {bounds.stop_grace_seconds:.0f} s, "
                    f"so it was ended; {LOST}"
                )
            if now - heard > bounds.stall_seconds:
                self._replace()
                raise WorkerError(
                    f"the training process stopped responding for {bounds.stall_seconds:.0f} s "
                    f"(frozen or overloaded), so it was replaced; {LOST}"
                )
            message = self._receive(conn, POLL)
            if message is None:
                continue
            heard = time.monotonic()
            kind, *body = message
            if kind == "progress" and on_progress is not None:
                on_progress(body[0])
            elif kind == "testing" and on_testing is not None:
                on_testing()
            elif kind == "error":
                raise TrainingError(body[0])
            elif kind == "done":
                return _result(spec, *body)

    def close(self) -> None:
        """End the child (it also ends by itself when the server exits)."""
        with self._lifecycle:
            if self._conn is not None:
                self._conn.close()  # the child sees end-of-file and leaves
            if self._process is not None:
                self._process.join(timeout=10)
            self._discard()


def _result(spec: ModelSpec, weights: list, fields: dict):
    """The child's weights in the network the spec builds, as a `TrainResult`."""
    from dnnlab import training
    from dnnlab.architectures import build_model, compile_model

    model = compile_model(build_model(spec), fields["hyper"]["learning_rate"])
    model.set_weights(weights)
    hyper = training.HyperParams(**fields.pop("hyper"))
    return training.TrainResult(model=model, spec=spec, hyper=hyper, **fields)


# --- the child's side -----------------------------------------------------------------


class _Outbox:
    """The child's end of the pipe, shared by the training and heartbeat threads."""

    def __init__(self, conn):
        self.conn = conn
        self.lock = threading.Lock()

    def send(self, message) -> None:
        with self.lock:
            self.conn.send(message)


def _heartbeat(out: _Outbox, busy: threading.Event) -> None:
    """Say "alive" while a job runs (between jobs nobody listens, and the pipe would fill)."""
    while True:
        busy.wait()
        time.sleep(HEARTBEAT)
        if busy.is_set():
            try:
                out.send(("alive",))
            except OSError:
                return


def _read_commands(conn, jobs: list, arrived: threading.Condition, stop: threading.Event) -> None:
    """Queue "train" messages and set `stop` on "stop"; on end-of-file, stop and quit."""
    while True:
        try:
            kind, *body = conn.recv()
        except (EOFError, OSError):
            stop.set()
            with arrived:
                jobs.append(None)
                arrived.notify()
            return
        if kind == "train":
            stop.clear()  # a "stop" that arrived after the previous job ended
            with arrived:
                jobs.append(body)
                arrived.notify()
        elif kind == "stop":
            stop.set()


def _train_one(out: _Outbox, spec_dict: dict, kwargs: dict, limit, stop: threading.Event) -> None:
    import keras

    from dnnlab import data, training

    spec = ModelSpec.from_dict(spec_dict)
    # Fine-tuning brings its own data (dnnlab.finetune: a room's drawings and MNIST's test set).
    arrays = kwargs.pop("arrays", None) or data.load_mnist(limit=limit)
    result = training.train(
        spec,
        arrays,
        **{**kwargs, "evaluate_test": False},
        on_progress=lambda record: out.send(("progress", record)),
        stop_event=stop,
    )
    if kwargs.get("evaluate_test", True):
        out.send(("testing",))
        (_, _), (x_test, y_test) = arrays
        result.test_loss, result.test_accuracy = training.evaluate(result.model, spec, x_test, y_test)
    fields = {
        "hyper": result.hyper.to_dict(),
        "history": result.history,
        "test_loss": result.test_loss,
        "test_accuracy": result.test_accuracy,
        "train_seconds": result.train_seconds,
        "epochs_completed": result.epochs_completed,
        "stopped": result.stopped,
        "epoch_seconds": result.epoch_seconds,
        "best_epoch": result.best_epoch,
        "snapshots": result.snapshots,  # small arrays (under 1 MB): they cross the pipe as they are
    }
    out.send(("done", result.model.get_weights(), fields))
    keras.backend.clear_session()  # free this job's graph before the next one


def child_main(conn, niceness: int = NICENESS) -> None:
    """The training process: import TensorFlow, say "ready", train jobs until the pipe closes."""
    from dnnlab import import_tensorflow_quietly

    if niceness:
        os.nice(niceness)
    import_tensorflow_quietly()
    import keras  # noqa: F401  (loaded before "ready": the first job should not wait for it)

    out = _Outbox(conn)
    jobs: list = []
    arrived = threading.Condition()
    stop, busy = threading.Event(), threading.Event()
    threading.Thread(target=_read_commands, args=(conn, jobs, arrived, stop), daemon=True).start()
    threading.Thread(target=_heartbeat, args=(out, busy), daemon=True).start()
    out.send(("ready",))
    print(f"dnnlab: training process {os.getpid()} ready", file=sys.stderr)
    while True:
        with arrived:
            arrived.wait_for(lambda: jobs)
            job = jobs.pop(0)
        if job is None:
            return
        busy.set()
        try:
            _train_one(out, *job, stop)
        except Exception as e:
            traceback.print_exc()
            try:
                out.send(("error", f"{type(e).__name__}: {e}"))
            except OSError:
                return
        finally:
            busy.clear()
