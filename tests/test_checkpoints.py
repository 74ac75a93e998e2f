"""Checkpoints: the best validation epoch's weights kept in memory, and training resumed."""

from __future__ import annotations

import numpy as np
import pytest

from dnnlab import training
from dnnlab.architectures import build_model, preset_spec
from dnnlab.checkpoints import BestWeights


def test_best_weights_keeps_the_epoch_of_lowest_validation_loss_and_restores_it():
    model = build_model(preset_spec("mlp-relu"))
    callback = BestWeights()
    callback.set_model(model)
    snapshots = []
    for epoch, val_loss in enumerate([0.9, 0.4, 0.6, float("nan")]):
        model.set_weights([w + 1.0 for w in model.get_weights()])  # this epoch's "training"
        snapshots.append(model.get_weights())
        callback.on_epoch_end(epoch, {"loss": 0.1, "val_loss": val_loss})
    callback.on_train_end()
    assert callback.best_epoch == 2 and callback.best == pytest.approx(0.4)
    for kept, best in zip(model.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(kept, best)


def test_best_weights_without_validation_changes_nothing():
    model = build_model(preset_spec("mlp-relu"))
    before = model.get_weights()
    callback = BestWeights()
    callback.set_model(model)
    callback.on_epoch_end(0, {"loss": 0.3})
    callback.on_train_end()
    assert callback.best_epoch is None
    for after, first in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(after, first)


# A small training set and a high learning rate overfit within a few epochs.
SMALL = {"train_images": 1000, "validation_split": 0.25, "batch_size": 16, "learning_rate": 0.01, "seed": 3}


def test_keep_best_ends_with_the_weights_of_its_best_epoch(small_mnist):
    spec = preset_spec("mlp-relu")
    kept = training.train(spec, small_mnist, epochs=8, keep_best=True, **SMALL)
    val_loss = kept.history["val_loss"]
    assert kept.best_epoch == int(np.argmin(val_loss)) + 1
    # The same seed retrained for exactly best_epoch epochs reaches the same weights.
    again = training.train(spec, small_mnist, epochs=kept.best_epoch, **SMALL)
    for a, b in zip(kept.model.get_weights(), again.model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert kept.test_accuracy == pytest.approx(again.test_accuracy)
    assert again.best_epoch is None  # not asked to keep the best


def test_training_resumes_from_a_models_weights(small_mnist):
    spec = preset_spec("mlp-relu")
    first = training.train(spec, small_mnist, epochs=2, train_images=1000, seed=1)
    weights = first.model.get_weights()
    # At the smallest learning rate, a resumed epoch ends next to where the first run
    # stopped: Adam moves a weight by at most about the learning rate per step.
    lr, steps = 1e-5, 1000 // 32 + 1
    still = training.train(
        spec, small_mnist, epochs=1, train_images=1000, seed=2, learning_rate=lr, initial_weights=weights
    )
    for a, b in zip(still.model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(a, b, atol=2 * lr * steps)
    # Trained on, it starts from there: its first epoch beats a fresh network's first epoch.
    resumed = training.train(spec, small_mnist, epochs=1, train_images=1000, seed=2, initial_weights=weights)
    fresh = training.train(spec, small_mnist, epochs=1, train_images=1000, seed=2)
    assert resumed.history["loss"][0] < fresh.history["loss"][0]
    assert resumed.test_accuracy > fresh.test_accuracy


# --- through the command line: the best epoch recorded with the model, and resumed ---------


def test_the_cli_keeps_the_best_epoch_records_it_and_trains_a_saved_model_on(models_dir, capsys):
    from dnnlab import cli, registry

    common = ["train", "--preset", "mlp-relu", "--limit", "2000", "--json"]
    assert (
        cli.main([*common, "--epochs", "3", "--validation-split", "0.2", "--keep-best", "--name", "a"]) == 0
    )
    meta = registry.read_meta("a")
    assert meta["best_epoch"] == int(np.argmin(meta["history"]["val_loss"])) + 1
    assert cli.main([*common, "--epochs", "1", "--resume", "a", "--name", "b"]) == 0
    resumed = registry.read_meta("b")
    assert resumed["best_epoch"] is None
    assert resumed["history"]["loss"][0] < meta["history"]["loss"][0]  # it started trained
    capsys.readouterr()
    assert cli.main(["train", "--preset", "cnn", "--limit", "2000", "--epochs", "1", "--resume", "a"]) != 0
    assert "not a cnn network" in capsys.readouterr().err
