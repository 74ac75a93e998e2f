"""Learn from the room: fine-tune a saved network on part of the room's drawings and
score it on the rest, before and after.

The drawings are split once into a fine-tune part and a held-out part, stratified by the
digit each student meant (every digit drawn twice or more is in both parts) and
deterministic (the same drawings always split the same way). Fine-tuning starts from
the saved network's weights and trains a few epochs at a low learning rate; its test
set stays MNIST's, so the saved result's test accuracy still means MNIST's and shows
what the room's handwriting cost on it.

`finetune` trains in this process (CLI, tests); the Train page runs the same training as
a job of `dnnlab.jobs` in the training process, with `job_kwargs`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from dnnlab.config import HyperParams, ModelSpec, TrainConfig
from dnnlab.room import Drawing

MIN_DRAWINGS = 20  # fewer, and the held-out accuracy moves in steps of 10 points or more
HELD_OUT = 0.5  # the room's export splits half and half too
EPOCHS = 5
# A third of the talk's Adam rate: it nudges the weights MNIST gave instead of
# overwriting them with what a few hundred drawings say.
LEARNING_RATE = 3e-4
BATCH_SIZE = 16  # a few hundred drawings: small batches give each epoch a few dozen steps


class FinetuneError(ValueError):
    """The room's drawings cannot be split for fine-tuning; the message says why."""


@dataclass(frozen=True)
class RoomSplit:
    """Which drawings fine-tune the network (`tune`) and which test it (`held_out`), as
    positions in the list split, with their images and intended digits."""

    tune: tuple[int, ...]
    held_out: tuple[int, ...]
    x_tune: np.ndarray
    y_tune: np.ndarray
    x_held: np.ndarray
    y_held: np.ndarray


def split(drawings: Sequence[Drawing], held_out: float = HELD_OUT, seed: int = 0) -> RoomSplit:
    """Split the drawings for fine-tuning, or a FinetuneError if there are too few.

    Within each intended digit the drawings are ordered by their random keys, then
    shuffled by `seed`; `held_out` of them (at least one, at most all but one) are held
    out. A digit drawn once goes to the fine-tune part.
    """
    if not 0.0 < held_out < 1.0:
        raise FinetuneError(f"the held-out share is between 0 and 1, not {held_out!r}")
    if len(drawings) < MIN_DRAWINGS:
        raise FinetuneError(
            f"the room has {len(drawings)} drawing{'s' * (len(drawings) != 1)}; fine-tuning needs "
            f"at least {MIN_DRAWINGS}: some to learn from and the rest to test on"
        )
    rng = np.random.default_rng(seed)
    tune, held = [], []
    for digit in range(10):
        group = sorted(
            (i for i, d in enumerate(drawings) if d.intended == digit), key=lambda i: drawings[i].key
        )
        group = [group[i] for i in rng.permutation(len(group))]
        count = min(max(round(held_out * len(group)), 1), len(group) - 1) if len(group) > 1 else 0
        held += group[:count]
        tune += group[count:]
    tune, held = sorted(tune), sorted(held)
    images = np.array([d.image28 for d in drawings], dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.array([d.intended for d in drawings], dtype=np.uint8)
    return RoomSplit(tuple(tune), tuple(held), images[tune], labels[tune], images[held], labels[held])


def accuracy(model, spec: ModelSpec, x: np.ndarray, y: np.ndarray) -> float:
    """The share of images `model` reads as labelled (batches, not single samples)."""
    from dnnlab.architectures import prepare_inputs
    from dnnlab.training import EVAL_BATCH_SIZE

    probabilities = model.predict(prepare_inputs(spec, x), batch_size=EVAL_BATCH_SIZE, verbose=0)
    return float(np.mean(np.argmax(probabilities, axis=1) == y))


def hyper(epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE, seed: int = 0) -> HyperParams:
    """How to fine-tune: few epochs, a low rate, no validation split (the held-out part
    is the test); `train_images` keeps the default, above any room's size."""
    return HyperParams(epochs=epochs, batch_size=BATCH_SIZE, learning_rate=learning_rate, seed=seed)


def job_kwargs(model, room_split: RoomSplit, test: tuple[np.ndarray, np.ndarray]) -> dict:
    """What `training.train` needs beyond the hyperparameters: the room's fine-tune part
    with `test` (MNIST's test set) as its data, and the saved network's weights to start from."""
    return {"arrays": ((room_split.x_tune, room_split.y_tune), test), "initial_weights": model.get_weights()}


def finetune(
    model,
    spec: ModelSpec,
    room_split: RoomSplit,
    test: tuple[np.ndarray, np.ndarray],
    settings: HyperParams | None = None,
    *,
    on_progress: Callable | None = None,
    stop_event: threading.Event | None = None,
):
    """Fine-tune a copy of `model` on the split's fine-tune part here, in this process:
    a `training.TrainResult` whose test scores are on `test`. `model` is unchanged."""
    from dnnlab import training

    kwargs = job_kwargs(model, room_split, test)
    return training.train(
        spec,
        kwargs.pop("arrays"),
        **(settings or hyper()).to_dict(),
        **kwargs,
        on_progress=on_progress,
        stop_event=stop_event,
    )


def start_job(
    model, spec: ModelSpec, room_split: RoomSplit, test, settings: HyperParams | None = None, **options
):
    """The same fine-tuning as a job of `dnnlab.jobs` (queued for the training process,
    never blocking a page); `options` as `jobs.Job` takes them (owner, alive)."""
    from dnnlab import jobs

    train_fn = functools.partial(jobs.WORKER.train, **job_kwargs(model, room_split, test))
    return jobs.start(TrainConfig(spec, settings or hyper()), None, train_fn=train_fn, **options)
