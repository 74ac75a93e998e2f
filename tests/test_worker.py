"""The training process: same results as training in-process, lower priority, no orphans,
and a clear error (not a hang) when it dies mid-job."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from dnnlab import training
from dnnlab.architectures import PRESETS
from dnnlab.worker import NICENESS, TrainingError, Worker, WorkerError, receive, send

KWARGS = dict(epochs=1, batch_size=32, learning_rate=0.001, seed=3, validation_split=0.0)


def test_messages_and_their_arrays_cross_a_pipe_intact():
    images = np.arange(60_000 * 28, dtype=np.uint8).reshape(-1, 28)
    images.flags.writeable = False  # as MNIST is loaded
    message = ("train", {"epochs": 2}, ((images, images[:, 3]), (images.T, None)))
    read, write = os.pipe()
    sender = threading.Thread(target=send, args=(write, message))
    sender.start()  # a pipe holds 64 KB: the reader must run at the same time
    got = receive(read)
    sender.join()
    assert got[:2] == message[:2]
    (x, y), (x_t, none) = got[2]
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, images[:, 3])
    np.testing.assert_array_equal(x_t, images.T)
    assert none is None
    os.close(write)
    with pytest.raises(EOFError):
        receive(read)
    os.close(read)


@pytest.fixture(scope="module")
def worker():
    w = Worker()
    yield w
    w.close()


def test_the_worker_trains_the_model_training_train_makes(worker, small_mnist):
    records = []
    result = worker.train(PRESETS["mlp-relu"].spec, small_mnist, on_progress=records.append, **KWARGS)
    local = training.train(PRESETS["mlp-relu"].spec, small_mnist, **KWARGS)
    assert result.test_accuracy == pytest.approx(local.test_accuracy, abs=1e-6)
    for theirs, ours in zip(result.model.get_weights(), local.model.get_weights(), strict=True):
        np.testing.assert_allclose(theirs, ours, atol=1e-6)
    assert result.hyper == local.hyper and result.epochs_completed == 1 and not result.stopped
    assert records and records[-1].kind == "epoch" and records[-1].epoch == 1


def test_the_worker_runs_below_the_server_priority(worker):
    worker.start()
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(19, mine + NICENESS)


def test_stop_reaches_the_worker(worker, small_mnist):
    stop = threading.Event()
    seen = []

    def on_progress(record):
        seen.append(record)
        stop.set()  # stop as soon as training is under way

    started = time.monotonic()
    result = worker.train(
        PRESETS["cnn"].spec,
        small_mnist,
        on_progress=on_progress,
        stop_event=stop,
        **{**KWARGS, "epochs": 200},
    )
    assert result.stopped and result.epochs_completed < 200
    assert time.monotonic() - started < 60
    # The stop belonged to that job only: the next one runs to the end.
    assert not worker.train(PRESETS["mlp-raw"].spec, small_mnist, **KWARGS).stopped


def test_an_error_in_training_is_reported_and_the_worker_carries_on(worker, small_mnist):
    worker.start()
    pid = worker.pid
    bad = (small_mnist[0], (small_mnist[1][0], small_mnist[1][1][:5]))  # 5 labels for 2,000 images
    with pytest.raises(TrainingError, match="ValueError|InvalidArgument"):
        worker.train(PRESETS["mlp-raw"].spec, bad, **{**KWARGS, "evaluate_test": True})
    assert worker.train(PRESETS["mlp-raw"].spec, small_mnist, **KWARGS).test_accuracy > 0.3
    assert worker.pid == pid


def test_a_killed_worker_fails_the_job_clearly_and_the_next_job_gets_a_new_one(small_mnist):
    worker = Worker()
    try:
        stop = threading.Event()

        def kill_on_first_progress(record):
            os.kill(worker.pid, signal.SIGKILL)

        with pytest.raises(WorkerError, match="ended unexpectedly.*train again"):
            worker.train(
                PRESETS["cnn"].spec,
                small_mnist,
                on_progress=kill_on_first_progress,
                stop_event=stop,
                **KWARGS,
            )
        first = worker.pid
        assert worker.train(PRESETS["mlp-raw"].spec, small_mnist, **KWARGS).epochs_completed == 1
        assert worker.pid != first
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
    # A stand-in server starts a worker, reports its pid, and is then killed outright.
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from dnnlab.worker import Worker; w = Worker(); w.start(); "
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
