"""What the lecturer can bound on a shared server, through environment variables.

A room of strangers shares one trainer and one `models/` folder: these limits keep any
one of them from holding the trainer for hours or filling the disk. Each is read from
the environment when asked for (cheap), so a test or a restarted server sees changes;
a malformed value is a `ValueError` naming the variable and what it expects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# name → (default, smallest allowed, what it bounds). `None` as default: no limit.
VARIABLES = {
    "DNNLAB_TRAIN_LIMIT": (None, 1, "train and test on the first N images only"),
    # Dense 1024-1024 on the 784 pixels is 1.9M; the talk's networks have 2.7k-13k.
    "DNNLAB_MAX_PARAMS": (2_000_000, 1, "parameters of a network trained on the server"),
    "DNNLAB_MAX_JOB_MINUTES": (30, 1, "minutes one training job may run before it is stopped"),
    # What a batch's activations and their gradients take: wide convolutions without
    # pooling on batches of 4096 would need 3.6 GB.
    "DNNLAB_MAX_TRAINING_MB": (1024, 1, "megabytes a training batch's activations may take"),
    "DNNLAB_MODELS_MAX_MB": (1024, 1, "megabytes the models folder may hold"),
    "DNNLAB_MAX_QUEUED": (1, 1, "unfinished training jobs one browser session may have"),
    # The training process reports at least once a second while it is alive; silence
    # this long means it is frozen or stuck (a `kill -STOP`, a deadlock, swapping).
    "DNNLAB_STALL_SECONDS": (30, 1, "seconds of silence from the training process before it is replaced"),
    "DNNLAB_STOP_GRACE_SECONDS": (10, 1, "seconds a stopped job may take to end before it is killed"),
}


@dataclass(frozen=True)
class Limits:
    train_limit: int | None
    max_params: int
    max_job_seconds: float
    max_training_bytes: int
    models_max_bytes: int
    max_queued: int
    stall_seconds: float
    stop_grace_seconds: float

    @property
    def model_max_bytes(self) -> int:
        """The largest `.keras` file a capped network makes: weights plus Adam's two
        moments (float32 each), and room for the config."""
        return 12 * self.max_params + 2 * 2**20


def _read(name: str, environ) -> int | None:
    default, low, meaning = VARIABLES[name]
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValueError(
            f"{name}={value!r} is not a whole number ({meaning}); unset it or use e.g. {default or 2000}"
        ) from None
    if number < low:
        raise ValueError(f"{name}={value!r} must be at least {low} ({meaning})")
    return number


def current(environ=None) -> Limits:
    """The limits in force (`environ` defaults to the process environment)."""
    env = os.environ if environ is None else environ
    return Limits(
        train_limit=_read("DNNLAB_TRAIN_LIMIT", env),
        max_params=_read("DNNLAB_MAX_PARAMS", env),
        max_job_seconds=60.0 * _read("DNNLAB_MAX_JOB_MINUTES", env),
        max_training_bytes=_read("DNNLAB_MAX_TRAINING_MB", env) * 2**20,
        models_max_bytes=_read("DNNLAB_MODELS_MAX_MB", env) * 2**20,
        max_queued=_read("DNNLAB_MAX_QUEUED", env),
        stall_seconds=float(_read("DNNLAB_STALL_SECONDS", env)),
        stop_grace_seconds=float(_read("DNNLAB_STOP_GRACE_SECONDS", env)),
    )


def parameters(spec) -> int:
    """A `ModelSpec`'s parameter count, as Keras's `count_params` gives it, from the spec
    alone: building a 35M-parameter network would allocate 140 MB just to refuse it."""
    side, channels, features = 28, 1, 784
    batch_norm = 4 if spec.batch_norm else 0  # gamma, beta, moving mean and variance
    total = 0
    for filters in spec.conv_filters:
        total += spec.kernel_size**2 * channels * filters + filters + batch_norm * filters
        if spec.skip and channels != filters:
            total += channels * filters  # the shortcut's bias-free 1×1 convolution
        side, channels = (side - spec.kernel_size + 1) // spec.pool_size, filters
        features = side * side * channels
    for i, units in enumerate(spec.dense_units):
        total += features * units + units + batch_norm * units
        if spec.skip and i > 0 and features != units:
            total += features * units  # the shortcut's bias-free projection
        features = units
    return total + features * 10 + 10


def batch_bytes(spec, batch_size: int) -> int:
    """Roughly what one training batch's activations take: every layer's output for each
    image, as float32, kept for the backward pass and matched by a gradient."""
    side, per_image = 28, 784
    for filters in spec.conv_filters:
        side -= spec.kernel_size - 1
        per_image += side * side * filters * (2 if spec.skip else 1)  # and the Add's sum
        side //= spec.pool_size
        per_image += side * side * filters if spec.pool_size > 1 else 0
    per_image += sum(spec.dense_units) * (2 if spec.skip else 1) + 10
    return batch_size * per_image * 4 * 2
