"""A training process frozen mid-job (`kill -STOP`, or a machine swapping) must not stall
the room: the frozen job fails with a clear message, the process is replaced, and the
next student's job, queued behind it, trains."""

import os
import signal
import time

from dnnlab.config import HyperParams, TrainConfig
from dnnlab.jobs import Job, State, Trainer
from dnnlab.worker import Worker


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_frozen_training_process_fails_its_job_and_the_next_one_trains(monkeypatch):
    monkeypatch.setenv("DNNLAB_STALL_SECONDS", "5")
    config = TrainConfig(hyper=HyperParams(epochs=50)).with_preset("mlp-relu")
    worker, trainer = Worker(), Trainer(poll=0.05)
    try:
        watched = dict(train_fn=worker.train, alive=lambda: True)  # both tabs stay open
        first = trainer.submit(Job(config, 1000, owner="student-a", **watched))
        quick = TrainConfig(hyper=HyperParams(epochs=1)).with_preset("mlp-relu")
        second = trainer.submit(Job(quick, 1000, owner="student-b", **watched))
        deadline = time.monotonic() + 180
        while first.latest() is None:  # training is under way
            assert first.active and time.monotonic() < deadline, first.error
            time.sleep(0.05)
        frozen = worker.pid
        os.kill(frozen, signal.SIGSTOP)
        assert first.wait(120)
        assert first.state is State.FAILED
        assert "stopped responding for 5 s" in first.error and "train again" in first.error
        assert not alive(frozen)
        assert second.wait(180) and second.state is State.DONE, second.error  # the student behind trains
        assert second.result.epochs_completed == 1
        assert worker.pid != frozen and alive(worker.pid)
    finally:
        worker.close()
