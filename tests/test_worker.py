"""The training process: same results as training in-process, lower priority, no orphans,
and a clear error (not a hang) when it dies, freezes or ignores Stop mid-job."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from dnnlab import data, training
from dnnlab.architectures import PRESETS
from dnnlab.worker import NICENESS, TrainingError, Worker, WorkerError

KWARGS = dict(epochs=1, batch_size=32, learning_rate=0.001, seed=3, validation_split=0.0)
LIMIT = 2000  # the child loads MNIST itself: only this number crosses


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def test_the_worker_trains_the_model_training_train_makes(worker):
    records = []
    result = worker.train(PRESETS["mlp-relu"].spec, LIMIT, on_progress=records.append, **KWARGS)
    local = training.train(PRESETS["mlp-relu"].spec, data.load_mnist(limit=LIMIT), **KWARGS)
    assert result.test_accuracy == pytest.approx(local.test_accuracy, abs=1e-6)
    for theirs, ours in zip(result.model.get_weights(), local.model.get_weights(), strict=True):
        np.testing.assert_allclose(theirs, ours, atol=1e-6)
    assert result.hyper == local.hyper and result.epochs_completed == 1 and not result.stopped
    assert records and records[-1].kind == "epoch" and records[-1].epoch == 1


def test_the_worker_runs_below_the_server_priority(worker):
    worker.wait_ready()
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, mine + NICENESS)


def test_stop_reaches_the_worker(worker):
    stop = threading.Event()
    seen = []

    def on_progress(record):
        seen.append(record)
        stop.set()  # stop as soon as training is under way

    result = worker.train(
        PRESETS["cnn"].spec, LIMIT, on_progress=on_progress, stop_event=stop, **{**KWARGS, "epochs": 200}
    )
    assert result.stopped and result.epochs_completed < 200
    # The stop belonged to that job only: the next one runs to the end.
    assert not worker.train(PRESETS["mlp-raw"].spec, LIMIT, **KWARGS).stopped


def test_an_error_in_training_is_reported_and_the_worker_carries_on(worker):
    worker.wait_ready()
    pid = worker.pid
    with pytest.raises(TrainingError, match="ValueError"):
        worker.train(PRESETS["mlp-raw"].spec, LIMIT, **{**KWARGS, "validation_split": 1.5})
    assert worker.train(PRESETS["mlp-raw"].spec, LIMIT, **KWARGS).test_accuracy > 0.3
    assert worker.pid == pid


def test_a_killed_worker_fails_the_job_clearly_and_the_next_job_gets_a_new_one():
    worker = Worker()
    try:
        killed: list[int] = []

        def kill_on_first_progress(record):
            if not killed:
                killed.append(worker.pid)
                os.kill(worker.pid, signal.SIGKILL)

        with pytest.raises(WorkerError, match="ended unexpectedly.*train again"):
            worker.train(PRESETS["cnn"].spec, LIMIT, on_progress=kill_on_first_progress, **KWARGS)
        assert worker.train(PRESETS["mlp-raw"].spec, LIMIT, **KWARGS).epochs_completed == 1
        assert worker.pid != killed[0]
    finally:
        worker.close()


def alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's parent in a container may never reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_worker_exits_when_its_server_dies():
    # A stand-in server starts a worker, waits until it is up, reports its pid, and is then
    # killed outright. (Killed while the niced worker is still importing TensorFlow, which
    # took over a minute on a loaded machine, the worker exits only once that import ends.)
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from dnnlab.worker import Worker; w = Worker(); w.wait_ready(); "
            "print(w.pid, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    pid = int(server.stdout.readline())
    server.kill()
    server.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.2)
    pytest.fail(f"worker {pid} outlived its server by 60 s")


def test_a_frozen_worker_fails_the_job_clearly_and_is_replaced(monkeypatch):
    """`kill -STOP` mid-training: the watchdog ends the wait, not the student."""
    monkeypatch.setenv("DNNLAB_STALL_SECONDS", "3")
    worker = Worker()
    try:

        def freeze_on_first_progress(record):
            if not frozen:
                frozen.append(worker.pid)
                os.kill(worker.pid, signal.SIGSTOP)

        frozen: list[int] = []
        with pytest.raises(WorkerError, match="stopped responding for 3 s.*replaced.*train again"):
            worker.train(PRESETS["cnn"].spec, LIMIT, on_progress=freeze_on_first_progress, **KWARGS)
        assert not alive(frozen[0])
        assert worker.train(PRESETS["mlp-raw"].spec, LIMIT, **KWARGS).epochs_completed == 1
        assert worker.pid != frozen[0]
    finally:
        worker.close()


def test_a_stop_the_worker_cannot_honour_is_escalated(monkeypatch):
    monkeypatch.setenv("DNNLAB_STOP_GRACE_SECONDS", "2")
    monkeypatch.setenv("DNNLAB_STALL_SECONDS", "600")  # the grace period, not the watchdog, acts
    worker = Worker()
    try:
        stop = threading.Event()
        frozen: list[int] = []

        def stop_and_freeze(record):
            if not frozen:
                frozen.append(worker.pid)
                os.kill(worker.pid, signal.SIGSTOP)
                stop.set()

        with pytest.raises(WorkerError, match="did not stop within 2 s"):
            worker.train(PRESETS["cnn"].spec, LIMIT, on_progress=stop_and_freeze, stop_event=stop, **KWARGS)
        assert not alive(frozen[0])
    finally:
        worker.close()


def test_no_temporary_files_are_left_by_a_failed_job(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    worker = Worker()
    try:
        with pytest.raises(TrainingError):
            worker.train(PRESETS["mlp-raw"].spec, LIMIT, **{**KWARGS, "validation_split": 1.5})
        worker.train(PRESETS["mlp-raw"].spec, LIMIT, **KWARGS)
    finally:
        worker.close()
    assert [p.name for p in tmp_path.iterdir() if "dnnlab" in p.name] == []


def test_the_worker_keeps_the_best_epochs_weights(worker):
    """`keep_best` through the training process: the model that comes back is the epoch of
    lowest validation loss (scored again here on the held-out images), not the last one."""
    from dnnlab.architectures import ModelSpec, prepare_inputs

    # A wide MLP on 800 images overfits within a few epochs (issue 16: it turns by epoch 3).
    spec, limit = ModelSpec(dense_units=(256, 256)), 1000
    kwargs = {**KWARGS, "epochs": 8, "validation_split": 0.2, "keep_best": True}
    result = worker.train(spec, limit, **kwargs)
    val_loss = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(val_loss)) + 1
    assert result.best_epoch < len(val_loss), f"validation loss never turned up: {val_loss}"
    (x_train, y_train), _ = data.load_mnist(limit=limit)
    held_out = slice(int(len(x_train) * 0.8), None)  # Keras's validation_split: the last 20%
    loss, _ = result.model.evaluate(
        prepare_inputs(spec, x_train[held_out]), y_train[held_out], batch_size=1000, verbose=0
    )
    assert loss == pytest.approx(val_loss[result.best_epoch - 1], rel=1e-4)
    assert loss < val_loss[-1]
    local = training.train(spec, data.load_mnist(limit=limit), **kwargs)
    assert local.best_epoch == result.best_epoch
    assert result.test_accuracy == pytest.approx(local.test_accuracy, abs=1e-6)
