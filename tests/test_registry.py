"""Saved models: atomic writes, validated names, safe loading, and the shipped presets."""

import hashlib
import json
import math

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.special

from dnnlab import data, registry, staircase
from dnnlab.architectures import PRESETS, ModelSpec, build_model, compile_model, prepare_inputs, preset_spec
from dnnlab.cli import run_name
from dnnlab.probes import LOGITS, probe
from dnnlab.training import train


@pytest.fixture(scope="module")
def trained(small_mnist):
    return train(preset_spec("mlp-relu"), small_mnist, epochs=1)


def _meta(result, name="m"):
    return registry.build_meta(result, data_digest="test", name=name)


def visible(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_save_and_load_round_trip(models_dir, trained, small_mnist):
    path = registry.save(trained.model, _meta(trained), "relu-1")
    assert path == models_dir / "relu-1"
    assert sorted(p.name for p in path.iterdir()) == ["meta.json", "model.keras"]
    model, meta = registry.load("relu-1")
    assert meta["name"] == "relu-1" and meta["preset"] == "mlp-relu" and meta["params"] == 13_002
    assert meta["history"]["loss"] == trained.history["loss"]
    assert {"tensorflow", "keras", "numpy", "python"} <= set(meta["versions"])
    x = np.asarray(small_mnist[1][0][:5], dtype="float32").reshape(5, 784) / 255
    np.testing.assert_allclose(model(x), trained.model(x), atol=1e-6)
    assert [i.name for i in registry.list_models()] == ["relu-1"]


def test_existing_model_is_never_replaced_unless_asked(models_dir, trained):
    registry.save(trained.model, _meta(trained), "keep")
    before = (models_dir / "keep" / "model.keras").read_bytes()
    other = compile_model(build_model(preset_spec("mlp-raw")))
    with pytest.raises(registry.ModelExistsError, match="already exists"):
        registry.save(other, {**_meta(trained), "spec": preset_spec("mlp-raw").to_dict()}, "keep")
    assert (models_dir / "keep" / "model.keras").read_bytes() == before
    registry.save(other, {**_meta(trained), "spec": preset_spec("mlp-raw").to_dict()}, "keep", replace=True)
    assert registry.read_meta("keep")["spec"]["rescale"] is False
    registry.load("keep")
    assert visible(models_dir) == ["keep"]


def test_a_crash_while_saving_leaves_no_partial_model(models_dir, trained):
    registry.save(trained.model, _meta(trained), "safe")

    class Exploding:
        def save(self, path):
            path.write_bytes(b"half a model")
            raise OSError(28, "No space left on device")

    with pytest.raises(registry.RegistryError, match="No space left on device"):
        registry.save(Exploding(), _meta(trained), "safe", replace=True)
    with pytest.raises(registry.RegistryError):
        registry.save(Exploding(), _meta(trained), "new-one")
    assert sorted(p.name for p in models_dir.iterdir()) == [".lock", "safe"]
    registry.load("safe")  # the earlier model is intact


def test_leftovers_of_an_interrupted_save_are_removed_at_start_up(models_dir, trained):
    registry.save(trained.model, _meta(trained), "kept")
    leftover = models_dir / f"{registry.PARTIAL_PREFIX}killed-abc123"
    leftover.mkdir()
    (leftover / "model.keras").write_bytes(b"half a model, its process killed")
    registry.clean_leftovers()
    assert visible(models_dir) == ["kept"] and not leftover.exists()


def test_weights_from_another_save_are_refused(models_dir, trained):
    registry.save(trained.model, _meta(trained), "a")
    other = compile_model(build_model(preset_spec("mlp-raw")))
    registry.save(other, {**_meta(trained), "spec": preset_spec("mlp-raw").to_dict()}, "b")
    (models_dir / "a" / "model.keras").write_bytes((models_dir / "b" / "model.keras").read_bytes())
    infos = {i.name: i for i in registry.list_models()}
    assert "weights digest differs" in infos["a"].error and infos["b"].ok
    with pytest.raises(registry.RegistryError, match="weights digest differs"):
        registry.load("a")


def test_weights_that_do_not_fit_the_spec_are_refused(models_dir, trained):
    """A hand-edited spec (with a digest recomputed to match) still cannot pass."""
    registry.save(trained.model, _meta(trained), "edited")
    path = models_dir / "edited" / "meta.json"
    meta = json.loads(path.read_text())
    meta["spec"]["dense_units"] = [32, 16]
    path.write_text(json.dumps(meta))
    with pytest.raises(registry.RegistryError, match="do not fit its spec"):
        registry.load("edited")


def test_the_models_folder_size_limit_refuses_a_save_with_the_reason(models_dir, trained, monkeypatch):
    monkeypatch.setenv("DNNLAB_MODELS_MAX_MB", "1")
    registry.save(trained.model, _meta(trained), "first")
    size = registry.folder_bytes(models_dir)
    with pytest.raises(registry.RegistryError, match="over the lecturer's limit of 1 MB"):
        for n in range(2**20 // size + 1):
            registry.save(trained.model, _meta(trained), f"more-{n}")
    assert all(info.ok for info in registry.list_models())
    assert not [p for p in models_dir.iterdir() if p.name.startswith(registry.PARTIAL_PREFIX)]


def test_a_deleted_model_is_gone_whole_and_others_stay(models_dir, trained):
    registry.save(trained.model, _meta(trained), "keep")
    registry.save(trained.model, _meta(trained), "drop")
    registry.delete("drop")
    assert visible(models_dir) == ["keep"] and [i.name for i in registry.list_models()] == ["keep"]
    with pytest.raises(registry.RegistryError, match="no model named 'drop'"):
        registry.delete("drop")
    with pytest.raises(ValueError, match="letters, digits"):
        registry.delete("../keep")


def test_a_model_loaded_while_it_is_being_replaced_is_the_new_one_not_missing(
    models_dir, trained, monkeypatch, tmp_path
):
    """A replacement renames the old folder aside, then the new one into place: a reader
    that finds the name missing in between waits for the saver, then reads the new model."""
    import threading

    registry.save(trained.model, _meta(trained), "m")
    replacement = registry.build_meta(trained, data_digest="the replacement", name="m")
    new = registry.save(trained.model, replacement, "m", directory=tmp_path / "built")
    waiting, wait = threading.Event(), registry._wait_for_saver

    def noted_wait(folder):
        waiting.set()
        wait(folder)

    monkeypatch.setattr(registry, "_wait_for_saver", noted_wait)
    found = []
    with registry._locked(models_dir):  # the saver, between its two renames
        (models_dir / "m").rename(tmp_path / "old")
        reader = threading.Thread(target=lambda: found.append(registry.load("m")[1]))
        reader.start()
        assert waiting.wait(timeout=120), "the reader did not wait for the saver"
        new.rename(models_dir / "m")
    reader.join(timeout=120)
    assert [meta["data_digest"] for meta in found] == ["the replacement"]


def test_the_shipped_runs_cannot_be_deleted_by_a_page(models_dir, trained):
    for name in ("cnn", "mlp-raw-seed3", "my-cnn"):
        registry.save(trained.model, _meta(trained), name)
    for name in ("cnn", "mlp-raw-seed3"):
        with pytest.raises(registry.RegistryError, match="only the lecturer"):
            registry.delete(name)
    registry.delete("my-cnn")
    assert visible(models_dir) == ["cnn", "mlp-raw-seed3"]
    registry.delete("cnn", allow_shipped=True)
    assert visible(models_dir) == ["mlp-raw-seed3"]


@pytest.mark.parametrize("name", ["../escape", "a b", "ü-model", "x" * 300, "", "dot.name", "a/b"])
def test_invalid_names_are_refused_with_the_rule(name):
    with pytest.raises(ValueError, match="letters, digits"):
        registry.validate_name(name)


def test_broken_entries_are_listed_while_the_rest_load(models_dir, trained):
    registry.save(trained.model, _meta(trained), "good")
    good = models_dir / "good"
    for name in ("corrupt", "no-meta", "bad-json", "no-weights"):
        (models_dir / name).mkdir()
    (models_dir / "corrupt" / "model.keras").write_bytes(b"PK\x03\x04 not a zip")
    meta = json.loads((good / "meta.json").read_text())
    digest = hashlib.sha256(b"PK\x03\x04 not a zip").hexdigest()
    (models_dir / "corrupt" / "meta.json").write_text(
        json.dumps({**meta, "name": "corrupt", "weights_sha256": digest})
    )
    (models_dir / "no-meta" / "model.keras").write_bytes((good / "model.keras").read_bytes())
    (models_dir / "bad-json" / "model.keras").write_bytes((good / "model.keras").read_bytes())
    (models_dir / "bad-json" / "meta.json").write_text("{not json")
    (models_dir / "no-weights" / "meta.json").write_text(json.dumps({**meta, "name": "no-weights"}))
    (models_dir / "old-layout.keras").write_bytes((good / "model.keras").read_bytes())
    infos = {i.name: i for i in registry.list_models()}
    assert infos["good"].ok
    assert "corrupt/model.keras: not a readable Keras file" in infos["corrupt"].error
    assert "metadata file (meta.json) missing" in infos["no-meta"].error
    assert "unreadable metadata" in infos["bad-json"].error
    assert "weights file (model.keras) missing" in infos["no-weights"].error
    assert "old two-file layout" in infos["old-layout"].error
    with pytest.raises(registry.RegistryError, match="corrupt/model.keras: not a readable Keras file"):
        registry.load("corrupt")
    registry.load("good")


def test_lambda_layers_are_refused_by_safe_mode(models_dir, trained):
    model = keras.Sequential(
        [keras.Input((784,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(10)]
    )
    (models_dir / "lambda").mkdir()
    model.save(models_dir / "lambda" / "model.keras")
    digest = hashlib.sha256((models_dir / "lambda" / "model.keras").read_bytes()).hexdigest()
    meta = {**_meta(trained), "name": "lambda", "weights_sha256": digest}
    (models_dir / "lambda" / "meta.json").write_text(json.dumps(meta))
    infos = {i.name: i for i in registry.list_models()}
    assert "holds a Lambda layer" in infos["lambda"].error
    with pytest.raises(registry.RegistryError, match="Lambda layer"):
        registry.load("lambda")


def test_read_only_folder_gives_a_clear_error(models_dir, trained, monkeypatch):
    # Root ignores file modes, so the refusal the OS would give is simulated.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(registry.tempfile, "mkdtemp", refuse)
    with pytest.raises(registry.RegistryError, match="Permission denied.*writable"):
        registry.save(trained.model, _meta(trained), "ro")
    assert visible(models_dir) == []


# --- the shipped presets: five seeds each, made by `make presets` ---------------------

SEEDS = 5
SHIPPED = [run_name(preset, seed) for preset in PRESETS for seed in range(SEEDS)]
STAIRCASE_TOLERANCE = 0.015  # the talk's figures, within ±1.5 points as a mean over seeds


@pytest.fixture(scope="module")
def shipped_metas():
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DNNLAB_MODELS", raising=False)
        return {info.name: info.meta for info in registry.list_models() if info.ok}


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_models_reproduce_their_recorded_test_metrics(name, mnist, monkeypatch):
    monkeypatch.delenv("DNNLAB_MODELS", raising=False)
    model, meta = registry.load(name)
    (_, _), (x_test, y_test) = mnist
    spec = ModelSpec.from_dict(meta["spec"])
    # One batched pass to the logits: Keras computes a softmax output's cross-entropy from
    # them too (exactly, where the probability of the true digit underflows to 0).
    logits = probe(model, spec).features(prepare_inputs(spec, x_test), [LOGITS])[LOGITS].astype(np.float64)
    accuracy = float(np.mean(logits.argmax(axis=1) == y_test))
    log_probabilities = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
    loss = float(-np.mean(log_probabilities[np.arange(len(y_test)), y_test]))
    assert accuracy == pytest.approx(meta["test_accuracy"], abs=1e-6)
    assert math.isclose(loss, meta["test_loss"], rel_tol=1e-4)
    preset, _, seed = name.partition("-seed")
    assert meta["preset"] == (preset if seed else name)
    assert meta["hyper"]["seed"] == int(seed or 0)
    assert meta["hyper"]["epochs"] == 10 and meta["epochs_completed"] == 10
    assert meta["data_digest"] == data.load().digest


def _spread(shipped_metas):
    runs = pd.DataFrame(
        {"preset": shipped_metas[n]["preset"], "test_accuracy": shipped_metas[n]["test_accuracy"]}
        for n in SHIPPED
    )
    return staircase.spread(runs).set_index("preset")


def test_every_preset_ships_five_seeds_and_the_staircase_rises(shipped_metas):
    assert set(SHIPPED) <= set(shipped_metas)
    table = _spread(shipped_metas)
    assert list(table.index) == list(PRESETS) and (table["runs"] == SEEDS).all()
    assert table["mean"].is_monotonic_increasing, "each step of the talk helps, on average over seeds"
    assert (table["max"].iloc[:-1].to_numpy() < table["min"].iloc[1:].to_numpy()).all(), "no overlap"


# The talk's own script for step 1, run here with plain Keras, gives the same test
# accuracy as DNN Lab for each of seeds 0-4 (88.50-90.25%): 87% is below what this network
# reaches after 10 epochs, so the talk's figure is one low run, not a different network.
RAW_ABOVE_THE_TALK = pytest.mark.xfail(
    strict=True, reason="the talk's 87% for raw pixels is below its own script's seeds here (mean 89.35%)"
)


@pytest.mark.parametrize(
    "preset", [pytest.param(p, marks=RAW_ABOVE_THE_TALK) if p == "mlp-raw" else p for p in PRESETS]
)
def test_the_seed_mean_is_the_talks_figure_within_a_point_and_a_half(shipped_metas, preset):
    row = _spread(shipped_metas).loc[preset]
    assert abs(row["mean"] - row["talk_accuracy"]) <= STAIRCASE_TOLERANCE, row.to_dict()
