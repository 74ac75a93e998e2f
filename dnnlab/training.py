"""Train a spec on MNIST with Keras `fit`, reporting progress through a plain callback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dnnlab.architectures import ModelSpec, build_model, compile_model, prepare_inputs
from dnnlab.checkpoints import BestWeights
from dnnlab.config import MNIST_TRAIN_IMAGES, HyperParams
from dnnlab.progress import Progress, ProgressCallback

# Batches run per call into TensorFlow: per-batch Python overhead dominates these small
# networks (an MLP epoch takes 6 s at 1 and 1.2 s at 16 on a 2-core machine).
STEPS_PER_EXECUTION = 16
EVAL_BATCH_SIZE = 1000  # fixed, so re-evaluating a saved model gives the same figures


@dataclass
class TrainResult:
    model: object
    spec: ModelSpec
    hyper: HyperParams
    history: dict[str, list[float]]
    test_loss: float
    test_accuracy: float
    train_seconds: float
    epochs_completed: int
    stopped: bool
    epoch_seconds: list[float] = field(default_factory=list)
    best_epoch: int | None = None  # the epoch whose weights were kept (`keep_best`), 1-based
    snapshots: object = None  # `dnnlab.snapshots.Snapshots` when trained with `snapshots=True`


def make_strategy(name: str = "default", *, cpu_devices: int = 0):
    """A `tf.distribute` strategy by name: "default" (None) or "mirrored".

    `MirroredStrategy` copies the model to every visible GPU (or the CPU) and splits
    each batch between them. `cpu_devices` > 1 first splits the CPU into that many
    logical devices, which lets a CPU-only machine exercise the multi-device path; it
    must run before TensorFlow first uses a device.
    """
    if name == "default":
        return None
    if name != "mirrored":
        raise ValueError(f"strategy must be 'default' or 'mirrored', not {name!r}")
    import tensorflow as tf

    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices
        )
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
        d.name for d in tf.config.list_logical_devices("CPU")
    ]
    return tf.distribute.MirroredStrategy(devices=devices)


def _fed_with_pixels(spec: ModelSpec, model, learning_rate: float, steps_per_execution: int):
    """`model` behind a layer that turns uint8 pixels into its inputs, batch by batch;
    compiled as `model` is. Training it trains `model`'s own weights.

    Keras copies the training arrays into TensorFlow once more: as float32 inputs the
    60,000 images take 188 MB per copy, as uint8 pixels 47 MB. The layer does
    `scale_pixels`' arithmetic, so the weights come out the same, bit for bit. It
    divides by a variable: a division by the constant 255 is compiled into a
    multiplication by 1/255, which rounds differently.
    """
    import keras

    class PixelsToInputs(keras.layers.Layer):
        def build(self, input_shape):
            self.divisor = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(255.0), trainable=False, name="divisor"
            )

        def call(self, pixels):
            x = keras.ops.cast(pixels, "float32")
            if spec.rescale:
                x = x / self.divisor
            return keras.ops.reshape(x, (-1, *spec.input_shape))

    pixels = keras.Input((28, 28), dtype="uint8")
    trainee = keras.Model(pixels, model(PixelsToInputs()(pixels)), name=f"{model.name}_on_pixels")
    return compile_model(trainee, learning_rate, steps_per_execution)


def evaluate(model, spec: ModelSpec, x_test: np.ndarray, y_test: np.ndarray) -> tuple[float, float]:
    """(test loss, test accuracy) of a compiled model, as plain floats."""
    loss, accuracy = model.evaluate(
        prepare_inputs(spec, x_test), y_test, batch_size=EVAL_BATCH_SIZE, verbose=0
    )
    return float(loss), float(accuracy)


def train(
    spec: ModelSpec,
    data,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    learning_rate: float = 0.001,
    seed: int = 0,
    validation_split: float = 0.0,
    train_images: int = MNIST_TRAIN_IMAGES,
    on_progress: Callable[[Progress], None] | None = None,
    stop_event: threading.Event | None = None,
    strategy=None,
    evaluate_test: bool = True,
    steps_per_execution: int = STEPS_PER_EXECUTION,
    keep_best: bool = False,
    initial_weights: list | None = None,
    snapshots: bool = False,
) -> TrainResult:
    """Train `spec` on the first `train_images` training images of `data` (as
    `load_mnist()` returns it) and evaluate on the whole test set.

    `on_progress` receives a `Progress` about every batch (throttled) and at each epoch
    end; setting `stop_event` stops training at the end of the current execution step
    (`steps_per_execution` batches: one batch when it is 1, about 0.1 s at the default),
    keeping the weights so far.
    The same seed gives the same result twice. `strategy` is an optional
    `tf.distribute.Strategy`: the model is built and compiled in its scope.
    `keep_best` (with a validation split) ends with the weights of the epoch of lowest
    validation loss (`dnnlab.checkpoints`); `initial_weights` (a saved model's
    `get_weights()`) trains on from where that model stopped. `snapshots` records the
    layers on fixed test images as they learn (`dnnlab.snapshots`).
    """
    import keras

    hyper = HyperParams(epochs, batch_size, learning_rate, seed, validation_split, train_images)
    (x_train, y_train), (x_test, y_test) = data
    x_train, y_train = x_train[:train_images], y_train[:train_images]
    keras.utils.set_random_seed(seed)
    if strategy is None:
        model = compile_model(build_model(spec), learning_rate, steps_per_execution)
        trainee = _fed_with_pixels(spec, model, learning_rate, steps_per_execution)
    else:
        # Keras's multi-step loop does not run under a distribution strategy.
        with strategy.scope():
            model = compile_model(build_model(spec), learning_rate, 1)
            trainee = _fed_with_pixels(spec, model, learning_rate, 1)

    if initial_weights is not None:
        model.set_weights(initial_weights)
    best = BestWeights(weights_of=model) if keep_best and validation_split > 0 else None
    callback = ProgressCallback(
        on_progress=on_progress,
        stop_event=stop_event,
        batch_size=batch_size,
        samples=int(len(x_train) * (1 - validation_split)),
    )
    callbacks = [callback] if best is None else [callback, best]
    recorder = None
    if snapshots:
        from dnnlab.snapshots import SnapshotRecorder

        recorder = SnapshotRecorder(
            model, spec, x_test, y_test, batches_per_epoch=callback.batches_per_epoch, epochs=epochs
        )
        callbacks.insert(0, recorder)  # before `best`, whose end restores the best weights
    started = time.perf_counter()
    history = trainee.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=validation_split,
        callbacks=callbacks,
        shuffle=True,
        verbose=0,
    )
    train_seconds = time.perf_counter() - started
    test_loss, test_accuracy = (
        evaluate(model, spec, x_test, y_test) if evaluate_test else (float("nan"), float("nan"))
    )
    return TrainResult(
        model=model,
        spec=spec,
        hyper=hyper,
        history={k: [float(v) for v in vs] for k, vs in history.history.items()},
        test_loss=test_loss,
        test_accuracy=test_accuracy,
        train_seconds=train_seconds,
        epochs_completed=callback.epochs_completed,
        stopped=callback.stopped,
        epoch_seconds=callback.epoch_seconds,
        best_epoch=best.best_epoch if best is not None else None,
        snapshots=recorder.result() if recorder is not None else None,
    )
