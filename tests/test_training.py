"""The training engine: progress, stop, determinism, and the talk's accuracy on real MNIST."""

import threading

import pytest

from dnnlab.architectures import preset_spec
from dnnlab.training import HyperParams, train


def test_progress_reports_batches_and_epochs(small_mnist):
    reports = []
    result = train(
        preset_spec("mlp-relu"), small_mnist, epochs=2, validation_split=0.2, on_progress=reports.append
    )
    epochs = [p for p in reports if p.kind == "epoch"]
    assert [p.epoch for p in epochs] == [1, 2]
    assert all(p.val_accuracy is not None and 0 <= p.val_accuracy <= 1 for p in epochs)
    assert epochs[-1].step == 2 * epochs[-1].batches_per_epoch == 2 * 50  # 1,600 images / 32
    assert epochs[-1].fraction_done == 1.0 and epochs[-1].samples_per_second > 0
    steps = [p.step for p in reports]
    assert steps == sorted(steps)
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.epochs_completed == 2 and not result.stopped
    assert 0.5 < result.test_accuracy <= 1.0  # 2,000 images are enough to learn something


def test_stop_event_stops_within_one_batch(small_mnist):
    stop = threading.Event()
    stopped_at = []

    def on_progress(p):
        if p.kind == "batch" and not stop.is_set():
            stopped_at.append(p.step)
            stop.set()

    reports = []
    result = train(
        preset_spec("cnn"),
        small_mnist,
        epochs=3,
        stop_event=stop,
        steps_per_execution=1,
        on_progress=lambda p: (reports.append(p), on_progress(p)),
    )
    assert result.stopped and result.epochs_completed == 0
    assert reports[-1].step <= stopped_at[0] + 1
    assert len(result.history["loss"]) == 1  # the interrupted epoch still reports its loss
    # ... but not as a full epoch: the last report is where training stopped.
    assert [p.kind for p in reports] == ["batch"] * len(reports)
    assert reports[-1].batch == reports[-1].step < reports[-1].batches_per_epoch
    assert reports[-1].fraction_done < 1 / 3


def test_training_set_size_takes_the_first_images(small_mnist):
    reports = []
    result = train(
        preset_spec("mlp-relu"), small_mnist, epochs=1, train_images=1000, on_progress=reports.append
    )
    assert reports[-1].kind == "epoch" and reports[-1].batches_per_epoch == 32  # ⌈1,000 / 32⌉
    assert result.hyper.train_images == 1000 and result.epochs_completed == 1


def test_same_seed_gives_the_same_result(small_mnist):
    a = train(preset_spec("cnn"), small_mnist, epochs=1, seed=7)
    b = train(preset_spec("cnn"), small_mnist, epochs=1, seed=7)
    c = train(preset_spec("cnn"), small_mnist, epochs=1, seed=8)
    assert a.history == b.history and a.test_loss == b.test_loss
    assert c.history != a.history


@pytest.mark.parametrize(
    "kwargs", [{"epochs": 0}, {"batch_size": 0}, {"learning_rate": -1.0}, {"validation_split": 0.9}]
)
def test_bad_hyper_parameters_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        HyperParams(**kwargs)


@pytest.mark.slow
def test_cnn_passes_94_percent_after_one_epoch_on_real_mnist(mnist):
    result = train(preset_spec("cnn"), mnist, epochs=1, seed=0)
    assert result.test_accuracy >= 0.94, result.test_accuracy


@pytest.mark.parametrize("preset", ["mlp-rescaled", "cnn"])
def test_training_on_uint8_pixels_gives_the_weights_float_inputs_give(preset, small_mnist):
    # train() feeds Keras uint8 pixels (a quarter of the memory); the shipped models were
    # trained, and are re-made by `reproduce`, the way the talk does it: on float inputs.
    import keras
    import numpy as np

    from dnnlab.architectures import build_model, compile_model, prepare_inputs

    (x_train, y_train), _ = small_mnist
    ours = train(preset_spec(preset), small_mnist, epochs=1, validation_split=0.1, evaluate_test=False)
    keras.utils.set_random_seed(0)
    talk = compile_model(build_model(preset_spec(preset)), 0.001, 16)
    history = talk.fit(
        prepare_inputs(preset_spec(preset), x_train), y_train, epochs=1, batch_size=32,
        validation_split=0.1, shuffle=True, verbose=0,
    )  # fmt: skip
    for a, b in zip(ours.model.get_weights(), talk.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert ours.history["val_accuracy"] == history.history["val_accuracy"]


def test_a_small_training_set_really_overfits(mnist):
    """The Train page's "Overfit it" scenario, in the core: on 1,000 images a wide MLP's
    validation loss bottoms out before the last epoch and rises again, while training
    accuracy pulls away from validation accuracy."""
    import numpy as np

    from dnnlab.config import OVERFIT

    hyper = {**OVERFIT.train_kwargs(), "epochs": 12}  # the turn comes early (issue 16: by epoch 3)
    h = train(OVERFIT.spec, mnist, **hyper, evaluate_test=False).history
    lowest = int(np.argmin(h["val_loss"]))
    assert lowest < len(h["val_loss"]) - 1 and h["val_loss"][-1] > h["val_loss"][lowest]
    gap = [a - v for a, v in zip(h["accuracy"], h["val_accuracy"], strict=True)]
    assert gap[-1] > 0 and gap[-1] > gap[0]
    assert h["accuracy"][-1] > h["accuracy"][lowest]  # it kept learning the training images
