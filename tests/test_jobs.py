"""Background training jobs and the one-at-a-time trainer queue."""

import dataclasses
import math
import threading
import time
import types

import pytest

from dnnlab import charts, jobs, limits, registry
from dnnlab.config import TrainConfig
from dnnlab.jobs import Job, State, Trainer
from dnnlab.training import HyperParams
from tests.support import progress_report as progress

TIMEOUT = 10.0


def config(seed: int = 0, epochs: int = 1) -> TrainConfig:
    return TrainConfig(hyper=HyperParams(epochs=epochs, seed=seed))


class FakeTrainer:
    """A stand-in for `training.train`: reports progress until its gate opens or it is stopped.

    It records the order jobs start in and the most that ever ran at once.
    """

    def __init__(self):
        self.gates: dict[int, threading.Event] = {}
        self.started: list[int] = []
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def gate(self, seed: int) -> threading.Event:
        return self.gates.setdefault(seed, threading.Event())

    def __call__(self, spec, limit, *, seed, on_progress, on_testing, stop_event, **kwargs):
        with self.lock:
            self.started.append(seed)
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        try:
            step = 0
            while not (self.gate(seed).is_set() or stop_event.is_set()):
                step += 1
                on_progress(progress(min(step, 100)))
                time.sleep(0.01)
            on_testing()
            return types.SimpleNamespace(
                model=None,
                stopped=stop_event.is_set(),
                epochs_completed=0,
                test_loss=0.25,
                test_accuracy=0.75,
            )
        finally:
            with self.lock:
                self.running -= 1


def submit(trainer: Trainer, fake: FakeTrainer, seed: int, **kwargs) -> Job:
    job = Job(config(seed), train_fn=fake, **kwargs)
    return trainer.submit(job)


def wait_until(condition, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def test_jobs_queue_in_order_and_report_their_position():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    first, second, third = (submit(trainer, fake, seed) for seed in (1, 2, 3))
    wait_until(lambda: first.state is State.RUNNING)
    assert (second.state, third.state) == (State.WAITING, State.WAITING)
    assert [first.ahead(), second.ahead(), third.ahead()] == [0, 1, 2]
    assert trainer.running is first and trainer.waiting() == [second, third]

    fake.gate(1).set()
    assert first.wait(TIMEOUT) and first.state is State.DONE
    wait_until(lambda: second.state is State.RUNNING)
    assert third.ahead() == 1 and third.state is State.WAITING

    fake.gate(2).set()
    fake.gate(3).set()
    assert third.wait(TIMEOUT)
    assert fake.started == [1, 2, 3]
    assert fake.most_at_once == 1
    assert (first.result.test_loss, first.result.test_accuracy) == (0.25, 0.75)


def test_two_jobs_never_train_at_once():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    for seed in range(8):
        fake.gate(seed).set()  # every job finishes as soon as it starts
    submitted = []
    threads = [
        threading.Thread(target=lambda s=s: submitted.append(submit(trainer, fake, s))) for s in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(job.wait(TIMEOUT) for job in submitted)
    assert {job.state for job in submitted} == {State.DONE}
    assert sorted(fake.started) == list(range(8))
    assert fake.most_at_once == 1
    assert trainer.running is None and trainer.waiting() == []


def test_stop_while_waiting_cancels_and_frees_the_place():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    first, second, third = (submit(trainer, fake, seed) for seed in (1, 2, 3))
    wait_until(lambda: first.state is State.RUNNING)
    second.stop()
    assert second.wait(TIMEOUT) and second.state is State.CANCELLED
    assert second.result is None
    assert third.ahead() == 1
    fake.gate(1).set()
    fake.gate(3).set()
    assert third.wait(TIMEOUT) and third.state is State.DONE
    assert fake.started == [1, 3]


def test_stop_while_running_keeps_the_model_so_far():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    job = submit(trainer, fake, 1)
    wait_until(lambda: job.latest() is not None)
    job.stop()
    assert job.wait(TIMEOUT)
    assert job.state is State.STOPPED and job.result.stopped
    assert job.result.test_accuracy == 0.75
    assert trainer.running is None


def test_a_waiting_job_nobody_polls_gives_up_its_place():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    present = threading.Event()
    present.set()  # its session is there until the test says otherwise
    first = submit(trainer, fake, 1)
    vanished = submit(trainer, fake, 2, heartbeat_timeout=0.2, alive=present.is_set)
    third = submit(trainer, fake, 3)
    wait_until(lambda: first.state is State.RUNNING)
    assert third.ahead() == 2
    present.clear()  # the tab is closed
    assert vanished.wait(TIMEOUT) and vanished.state is State.CANCELLED
    assert third.ahead() == 1
    fake.gate(1).set()
    fake.gate(3).set()
    assert third.wait(TIMEOUT)
    assert fake.started == [1, 3]


def test_a_running_job_nobody_polls_is_cancelled_and_the_next_one_starts():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    vanished = submit(trainer, fake, 1, heartbeat_timeout=0.3)
    waiting = submit(trainer, fake, 2)
    assert vanished.wait(TIMEOUT)
    assert vanished.state is State.CANCELLED
    assert vanished.result is None  # nobody is there to save it
    wait_until(lambda: waiting.state is State.RUNNING)
    fake.gate(2).set()
    assert waiting.wait(TIMEOUT) and waiting.state is State.DONE


@pytest.mark.parametrize("keep_alive", ["touch", "probe"])
def test_a_watched_job_keeps_running(keep_alive):
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    alive = (lambda: True) if keep_alive == "probe" else None
    job = submit(trainer, fake, 1, heartbeat_timeout=0.2, alive=alive)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if keep_alive == "touch":
            job.touch()
        time.sleep(0.05)
    assert job.state is State.RUNNING
    fake.gate(1).set()
    assert job.wait(TIMEOUT) and job.state is State.DONE


def test_a_failing_job_reports_why_and_frees_the_trainer():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()

    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    bad = trainer.submit(Job(config(1), None, train_fn=broken))
    good = submit(trainer, fake, 2)
    fake.gate(2).set()
    assert bad.wait(TIMEOUT) and bad.state is State.FAILED
    assert bad.error == "RuntimeError: out of memory"
    assert good.wait(TIMEOUT) and good.state is State.DONE


def test_real_training_stops_and_keeps_the_model_so_far():
    trainer = Trainer()
    job = trainer.submit(Job(config(epochs=200), 2000, alive=lambda: True))  # its tab stays open
    wait_until(lambda: job.latest() is not None, timeout=120)
    job.stop()
    assert job.wait(60)
    assert job.state is State.STOPPED, job.error
    result = job.result
    assert result.stopped and result.epochs_completed < 200
    assert 0.0 <= result.test_accuracy <= 1.0 and math.isfinite(result.test_loss)


def test_real_training_reports_progress_and_scores_the_test_set():
    trainer = Trainer()
    config_ = TrainConfig(hyper=HyperParams(epochs=1, validation_split=0.1))
    job = trainer.submit(Job(config_, 2000, alive=lambda: True))
    assert job.wait(120)
    assert job.state is State.DONE, job.error
    records = job.progress()
    assert records[-1].kind == "epoch" and records[-1].val_accuracy is not None
    assert job.result.epochs_completed == 1
    assert job.result.test_accuracy > 0.3  # ten classes: chance is 0.1
    rows = charts.curves(records)
    assert {(r["metric"], r["split"]) for r in rows} == {
        ("loss", "training"),
        ("accuracy", "training"),
        ("loss", "validation"),
        ("accuracy", "validation"),
    }


def test_one_session_cannot_queue_more_than_its_share(monkeypatch):
    monkeypatch.setenv("DNNLAB_MAX_QUEUED", "2")
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    first, second = (submit(trainer, fake, seed, owner="session-a") for seed in (1, 2))
    with pytest.raises(jobs.JobRefused, match="DNNLAB_MAX_QUEUED"):
        submit(trainer, fake, 3, owner="session-a")
    other = submit(trainer, fake, 4, owner="session-b")  # another student is not affected
    for seed in (1, 2, 4):
        fake.gate(seed).set()
    assert all(job.wait(TIMEOUT) for job in (first, second, other))
    assert fake.started == [1, 2, 4]
    again = submit(trainer, fake, 5, owner="session-a")  # finished jobs free the places
    fake.gate(5).set()
    assert again.wait(TIMEOUT) and again.state is State.DONE


def test_a_job_past_the_time_limit_is_stopped_with_the_reason():
    trainer, fake = Trainer(poll=0.01), FakeTrainer()
    job = submit(trainer, fake, 1, max_seconds=0.0)
    assert job.wait(TIMEOUT)
    assert job.state is State.STOPPED and "DNNLAB_MAX_JOB_MINUTES" in job.note


def test_a_network_over_the_parameter_limit_is_refused_before_it_is_built(monkeypatch):
    monkeypatch.setenv("DNNLAB_MAX_PARAMS", "100000")
    huge = TrainConfig().with_preset("mlp-relu")
    huge = TrainConfig(spec=dataclasses.replace(huge.spec, dense_units=(1024, 1024)), hyper=huge.hyper)
    with pytest.raises(
        jobs.JobRefused, match=r"1,863,690 parameters.*limit of 100,000 \(DNNLAB_MAX_PARAMS\)"
    ):
        jobs.start(huge)
    assert jobs.TRAINER.waiting() == []


def test_batches_too_big_for_the_server_are_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv("DNNLAB_MAX_TRAINING_MB", "512")
    wide = TrainConfig().with_preset("cnn")
    spec = dataclasses.replace(wide.spec, conv_filters=(64, 64, 64), pool_size=1, dense_units=())
    wide = TrainConfig(spec=spec, hyper=dataclasses.replace(wide.hyper, batch_size=4096))
    with pytest.raises(
        jobs.JobRefused, match=r"batches of 4,096 images .* limit of 512 MB \(DNNLAB_MAX_TRAINING_MB\)"
    ):
        jobs.start(wide)
    small_batches = TrainConfig(spec=spec, hyper=dataclasses.replace(wide.hyper, batch_size=256))
    assert jobs.check_size(small_batches) == limits.parameters(spec)  # the same network, allowed


def test_suggest_name():
    assert registry.suggest_name("cnn", 3, []) == "cnn-3-epochs"
    assert registry.suggest_name("cnn", 1, ["cnn-1-epoch", "cnn-1-epoch-2"]) == "cnn-1-epoch-3"
    assert registry.suggest_name(None, 2, []) == "custom-2-epochs"


def test_a_resumed_job_trains_on_from_the_saved_weights(models_dir):
    """`resume_from` through the job and the training process: the run starts from the
    saved model's weights (the same run in-process from those weights gives the same
    network, a fresh start does not), and only the same network may resume it."""
    import numpy as np

    from dnnlab import data, training

    first = Trainer().submit(Job(config(seed=1), 2000, alive=lambda: True))
    assert first.wait(120) and first.state is State.DONE, first.error
    registry.save(
        first.result.model, registry.build_meta(first.result, data_digest="x", name="first"), "first"
    )
    resumed_config = dataclasses.replace(config(seed=2), resume_from="first")
    job = Trainer().submit(Job(resumed_config, 2000, alive=lambda: True))
    assert job.wait(120) and job.state is State.DONE, job.error
    arrays = data.load_mnist(limit=2000)
    kwargs = resumed_config.train_kwargs()
    from_saved = training.train(
        resumed_config.spec, arrays, **kwargs, initial_weights=first.result.model.get_weights()
    )
    fresh = training.train(resumed_config.spec, arrays, **kwargs)
    for ours, theirs in zip(job.result.model.get_weights(), from_saved.model.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert job.result.test_accuracy == pytest.approx(from_saved.test_accuracy, abs=1e-6)
    assert not np.allclose(job.result.model.get_weights()[0], fresh.model.get_weights()[0])
    other = dataclasses.replace(resumed_config.with_preset("cnn"), resume_from="first")
    refused = Trainer().submit(Job(other, 2000, alive=lambda: True))
    assert refused.wait(120) and refused.state is State.FAILED
    assert "another network" in refused.error
