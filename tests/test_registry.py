"""Saved models: atomic writes, validated names, safe loading, and the shipped presets."""

import json
import math

import keras
import numpy as np
import pytest

from dnnlab import data, registry
from dnnlab.architectures import ModelSpec, build_model, compile_model, preset_spec
from dnnlab.training import evaluate, train


@pytest.fixture(scope="module")
def trained(small_mnist):
    return train(preset_spec("mlp-relu"), small_mnist, epochs=1)


def _meta(result, name="m"):
    return registry.build_meta(result, data_digest="test", name=name)


def test_save_and_load_round_trip(models_dir, trained, small_mnist):
    path = registry.save(trained.model, _meta(trained), "relu-1")
    assert path == models_dir / "relu-1.keras"
    model, meta = registry.load("relu-1")
    assert meta["name"] == "relu-1" and meta["preset"] == "mlp-relu" and meta["params"] == 13_002
    assert meta["history"]["loss"] == trained.history["loss"]
    assert {"tensorflow", "keras", "numpy", "python"} <= set(meta["versions"])
    x = np.asarray(small_mnist[1][0][:5], dtype="float32").reshape(5, 784) / 255
    np.testing.assert_allclose(model(x), trained.model(x), atol=1e-6)
    assert [i.name for i in registry.list_models()] == ["relu-1"]


def test_existing_model_is_never_replaced_unless_asked(models_dir, trained):
    registry.save(trained.model, _meta(trained), "keep")
    before = (models_dir / "keep.keras").read_bytes()
    other = compile_model(build_model(preset_spec("mlp-raw")))
    with pytest.raises(registry.ModelExistsError, match="already exists"):
        registry.save(other, {**_meta(trained), "spec": preset_spec("mlp-raw").to_dict()}, "keep")
    assert (models_dir / "keep.keras").read_bytes() == before
    registry.save(other, {**_meta(trained), "spec": preset_spec("mlp-raw").to_dict()}, "keep", replace=True)
    assert registry.read_meta("keep")["spec"]["rescale"] is False


def test_a_crash_while_saving_leaves_no_partial_file(models_dir, trained):
    registry.save(trained.model, _meta(trained), "safe")

    class Exploding:
        def save(self, path):
            path.write_bytes(b"half a model")
            raise OSError(28, "No space left on device")

    with pytest.raises(registry.RegistryError, match="No space left on device"):
        registry.save(Exploding(), _meta(trained), "safe", replace=True)
    with pytest.raises(registry.RegistryError):
        registry.save(Exploding(), _meta(trained), "new-one")
    assert sorted(p.name for p in models_dir.iterdir()) == ["safe.json", "safe.keras"]
    registry.load("safe")  # the earlier model is intact


@pytest.mark.parametrize("name", ["../escape", "a b", "ü-model", "x" * 300, "", "dot.name", "a/b"])
def test_invalid_names_are_refused_with_the_rule(name):
    with pytest.raises(ValueError, match="letters, digits"):
        registry.validate_name(name)


def test_broken_entries_are_listed_while_the_rest_load(models_dir, trained):
    registry.save(trained.model, _meta(trained), "good")
    (models_dir / "corrupt.keras").write_bytes(b"PK\x03\x04 not a zip")
    (models_dir / "corrupt.json").write_text(json.dumps(_meta(trained)))
    (models_dir / "no-meta.keras").write_bytes((models_dir / "good.keras").read_bytes())
    (models_dir / "bad-json.keras").write_bytes((models_dir / "good.keras").read_bytes())
    (models_dir / "bad-json.json").write_text("{not json")
    infos = {i.name: i for i in registry.list_models()}
    assert infos["good"].ok
    assert "corrupt.keras: not a readable Keras file" in infos["corrupt"].error
    assert "metadata file missing" in infos["no-meta"].error
    assert "unreadable metadata" in infos["bad-json"].error
    with pytest.raises(registry.RegistryError, match="corrupt.keras: cannot be loaded safely"):
        registry.load("corrupt")
    registry.load("good")


def test_lambda_layers_are_refused_by_safe_mode(models_dir, trained):
    model = keras.Sequential(
        [keras.Input((784,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10)]
    )
    model.save(models_dir / "lambda.keras")
    (models_dir / "lambda.json").write_text(json.dumps(_meta(trained)))
    with pytest.raises(registry.RegistryError, match="lambda.keras: cannot be loaded safely"):
        registry.load("lambda")
    infos = {i.name: i for i in registry.list_models()}
    assert "holds a Lambda layer" in infos["lambda"].error


def test_read_only_folder_gives_a_clear_error(models_dir, trained, monkeypatch):
    # Root ignores file modes, so the refusal the OS would give is simulated.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(registry.tempfile, "mkstemp", refuse)
    with pytest.raises(registry.RegistryError, match="Permission denied.*writable"):
        registry.save(trained.model, _meta(trained), "ro")
    assert list(models_dir.iterdir()) == []


# --- the shipped presets ----------------------------------------------------------

SHIPPED_MINIMUM = {"mlp-raw": 0.86, "mlp-rescaled": 0.91, "mlp-relu": 0.94, "cnn": 0.975}


@pytest.mark.parametrize("name", list(SHIPPED_MINIMUM))
def test_shipped_presets_reproduce_their_recorded_test_accuracy(name, mnist, monkeypatch):
    monkeypatch.delenv("DNNLAB_MODELS", raising=False)
    model, meta = registry.load(name)
    (_, _), (x_test, y_test) = mnist
    loss, accuracy = evaluate(model, ModelSpec.from_dict(meta["spec"]), x_test, y_test)
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=1e-6)
    assert math.isclose(loss, meta["test_loss"], rel_tol=1e-4)
    assert accuracy >= SHIPPED_MINIMUM[name]
    assert meta["preset"] == name and meta["hyper"]["epochs"] == 10 and meta["epochs_completed"] == 10
    assert meta["data_digest"] == data.load().digest
