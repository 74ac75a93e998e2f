"""Training in a separate, lower-priority process, so the server stays responsive.

Training keeps both cores busy. Inside the server process it shared TensorFlow's thread
pools and Python's GIL with every student's prediction, and on a 2-core machine a
drawing waited seconds behind training steps. Here one long-lived child process,
`python -m dnnlab.worker`, trains one job at a time at a lower scheduling priority
(`NICENESS`): it gets whatever CPU the server leaves, and predictions come first.

The server talks to it over the child's stdin and stdout, one pickled message per frame
(the child's own stray output is moved to stderr):

    server → worker   ("train", spec dict, data, train kwargs) | ("stop",)
    worker → server   ("ready",) | ("progress", Progress) | ("done", model path, fields)
                      | ("error", message)

The trained model comes back as a `.keras` file in the temporary directory, loaded with
`safe_mode`. When the server goes away the child sees end-of-file and exits; when the
child dies the running job fails with a clear message and the next job starts a new one.
"""

from __future__ import annotations

import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import keras  # via dnnlab.progress anyway: the child is ready once this module is loaded

from dnnlab import training
from dnnlab.architectures import ModelSpec
from dnnlab.progress import Progress

NICENESS = 10  # below the server's interactive work, above nothing else
START_TIMEOUT = 120.0  # seconds for the child to import TensorFlow and say "ready"
POLL = 0.05  # seconds between looks at the stop event while waiting for messages


class WorkerError(RuntimeError):
    """The training process failed to start or ended in the middle of a job."""


class TrainingError(WorkerError):
    """Training raised an error in the child, which is ready for the next job."""


# --- framing: one pickle per message, with its arrays sent out of band -------------
#
# MNIST is 55 MB: pickled in band it was copied twice on each side. With pickle's
# protocol 5 the arrays' memory is written straight from the numpy buffers and read
# straight into the buffers the arrays are rebuilt on.

_HEADER = struct.Struct("<QI")  # pickle size, number of out-of-band buffers
_LENGTH = struct.Struct("<Q")


def _write_all(fd: int, data) -> None:
    view = memoryview(data).cast("B")
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int) -> bytearray:
    buffer = bytearray(size)
    view, done = memoryview(buffer), 0
    while done < size:
        count = os.readv(fd, [view[done:]])
        if not count:
            raise EOFError("the other end closed the pipe")
        done += count
    return buffer


def send(fd: int, message) -> None:
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    _write_all(fd, _HEADER.pack(len(data), len(buffers)) + data)
    for buffer in buffers:
        raw = buffer.raw()
        _write_all(fd, _LENGTH.pack(raw.nbytes))
        _write_all(fd, raw)


def receive(fd: int):
    size, count = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    data = _read_exactly(fd, size)
    buffers = [_read_exactly(fd, _LENGTH.unpack(_read_exactly(fd, _LENGTH.size))[0]) for _ in range(count)]
    return pickle.loads(data, buffers=buffers)


# --- the server's side ----------------------------------------------------------------


class Worker:
    """A handle on the training child; `train` has `training.train`'s signature."""

    def __init__(self, niceness: int = NICENESS):
        self.command = [sys.executable, "-m", "dnnlab.worker", str(niceness)]
        self._process: subprocess.Popen | None = None
        self._ready = False  # the child has imported TensorFlow and said so
        self._lock = threading.Lock()  # one job at a time through the pipe

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start the child now if it is not running (it then imports TensorFlow in the
        background, so the first training does not wait for it). Never blocks: while a
        job holds the worker, it is running already."""
        if self._lock.acquire(blocking=False):
            try:
                self._ensure_started()
            finally:
                self._lock.release()

    def _ensure_started(self) -> subprocess.Popen:
        if self._process is None or self._process.poll() is not None:
            # Importable as `dnnlab.worker` whatever directory the server started in.
            root = str(Path(__file__).resolve().parent.parent)
            path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
            self._process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
                env={**os.environ, "PYTHONPATH": path},
            )
            self._ready = False
        return self._process

    def _wait_ready(self, process: subprocess.Popen) -> None:
        if self._ready:
            return
        if not select.select([process.stdout], [], [], START_TIMEOUT)[0]:
            process.kill()
            raise WorkerError(f"the training process did not start within {START_TIMEOUT:.0f} s")
        if self._receive(process) != ("ready",):
            raise WorkerError("the training process sent an unexpected greeting")
        self._ready = True

    def _receive(self, process: subprocess.Popen):
        try:
            return receive(process.stdout.fileno())
        except EOFError:
            code = process.wait(timeout=10)
            raise WorkerError(
                f"the training process ended unexpectedly (exit code {code}); "
                "this run is lost, the saved models are not affected: train again"
            ) from None

    def train(
        self,
        spec: ModelSpec,
        data,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        stop_event: threading.Event | None = None,
        **kwargs,
    ):
        """Train in the child and return a `training.TrainResult` holding the model."""
        with self._lock:
            process = self._ensure_started()
            self._wait_ready(process)
            try:
                send(process.stdin.fileno(), ("train", spec.to_dict(), data, kwargs))
            except OSError as e:
                raise WorkerError(f"cannot reach the training process: {e}") from None
            try:
                return self._relay(process, spec, on_progress, stop_event)
            except TrainingError:
                raise
            except BaseException:
                # The child may still be training this job and would send its messages
                # to the next one: start afresh instead.
                process.kill()
                raise

    def _relay(self, process, spec, on_progress, stop_event):
        """Pass progress on and the stop event back until the child is done."""
        stop_sent = False
        while True:
            if stop_event is not None and stop_event.is_set() and not stop_sent:
                send(process.stdin.fileno(), ("stop",))
                stop_sent = True
            if not select.select([process.stdout], [], [], POLL)[0]:
                continue
            kind, *body = self._receive(process)
            if kind == "progress" and on_progress is not None:
                on_progress(body[0])
            elif kind == "error":
                raise TrainingError(body[0])
            elif kind == "done":
                path, fields = body
                model = _load_and_remove(path)
                hyper = training.HyperParams(**fields.pop("hyper"))
                return training.TrainResult(model=model, spec=spec, hyper=hyper, **fields)

    def close(self) -> None:
        """End the child (it also ends by itself when the server exits)."""
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.stdin.close()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
            self._process = None


def _load_and_remove(path: str):
    try:
        return keras.saving.load_model(path, safe_mode=True)
    finally:
        os.unlink(path)


# --- the child's side -----------------------------------------------------------------


def _read_commands(fd: int, jobs: queue.Queue, stop: threading.Event) -> None:
    """Queue "train" messages and set `stop` on "stop"; on end-of-file, stop and quit."""
    while True:
        try:
            kind, *body = receive(fd)
        except EOFError:
            stop.set()
            jobs.put(None)
            return
        if kind == "train":
            stop.clear()  # a "stop" that arrived after the previous job ended
            jobs.put(body)
        elif kind == "stop":
            stop.set()


def _train_one(out: int, spec_dict: dict, data, kwargs: dict, stop: threading.Event) -> None:
    result = training.train(
        ModelSpec.from_dict(spec_dict),
        data,
        **kwargs,
        on_progress=lambda record: send(out, ("progress", record)),
        stop_event=stop,
    )
    handle, path = tempfile.mkstemp(prefix="dnnlab-trained-", suffix=".keras")
    os.close(handle)
    result.model.save(path)
    fields = {
        "hyper": result.hyper.to_dict(),
        "history": result.history,
        "test_loss": result.test_loss,
        "test_accuracy": result.test_accuracy,
        "train_seconds": result.train_seconds,
        "epochs_completed": result.epochs_completed,
        "stopped": result.stopped,
        "epoch_seconds": result.epoch_seconds,
    }
    send(out, ("done", path, fields))
    keras.backend.clear_session()  # free this job's graph before the next one


def main(niceness: int = NICENESS) -> None:
    # The protocol owns the real stdout; anything else printed goes to stderr.
    out = os.dup(1)
    os.dup2(2, 1)
    if niceness:
        os.nice(niceness)
    jobs: queue.Queue = queue.Queue()
    stop = threading.Event()
    threading.Thread(target=_read_commands, args=(0, jobs, stop), daemon=True).start()
    send(out, ("ready",))
    print(f"dnnlab: training process {os.getpid()} ready", file=sys.stderr)
    while (job := jobs.get()) is not None:
        try:
            _train_one(out, *job, stop)
        except Exception as e:
            traceback.print_exc()
            send(out, ("error", f"{type(e).__name__}: {e}"))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else NICENESS)
