"""A server as a room of strangers meets it: a `streamlit run` over a models folder that
holds one working model with hostile names inside it, beside broken and hostile entries,
with the lecturer's limits set low enough for a test to reach them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import log_tail, start_streamlit

# Markdown and HTML a student might put in a URL, a file name, a model's JSON or a layer
# name (Keras refuses "/" in layer names; everything else passes `safe_mode`).
PAYLOAD = "![i](https:evil.example) [Click here to log in](https:evil.example) <img src=x onerror=alert(1)>"
LIMITS = {
    "DNNLAB_TRAIN_LIMIT": "1000",
    "DNNLAB_MAX_PARAMS": "100000",
    "DNNLAB_STALL_SECONDS": "5",
    "DNNLAB_STOP_GRACE_SECONDS": "5",
}


def run_async(coroutine, timeout: float = 240):
    """Run a coroutine in a thread of its own (Playwright's sync API may hold this one's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=timeout)


def hostile_model(folder: Path) -> None:
    """Two CNNs carrying `PAYLOAD`: "hostile" in its metadata (still a working model, and
    the most accurate in the folder, so every page picks it by default) and "evil-layers"
    in its layer names."""
    from dnnlab import import_tensorflow_quietly, registry

    import_tensorflow_quietly()
    from dnnlab.architectures import build_model, compile_model, preset_spec

    spec = preset_spec("cnn")
    model = compile_model(build_model(spec))
    meta = {
        "spec": spec.to_dict(),
        "preset": "cnn",
        "hyper": {"epochs": 1, "batch_size": 32, "learning_rate": 0.001, "seed": 0},
        "params": model.count_params(),
        "epochs_completed": 1,
        "history": {"loss": [2.3], "accuracy": [0.1]},
        "test_accuracy": 0.99,
        "test_loss": 0.05,
        "created": PAYLOAD,
        "versions": {"keras": "[x](https:evil.example)"},
        "data_digest": "<img src=x>",
    }
    registry.save(model, meta, "hostile", directory=folder)
    config = model.get_config()
    for n, layer in enumerate(config["layers"]):
        if layer["class_name"] == "Conv2D":
            layer["config"]["name"] = f"{PAYLOAD} {n}"
    renamed = compile_model(type(model).from_config(config))
    renamed.set_weights(model.get_weights())
    registry.save(renamed, {**meta, "test_accuracy": 0.5}, "evil-layers", directory=folder)


def broken_entries(folder: Path) -> dict[str, str]:
    """Entries that must be listed as broken, each with (part of) the reason it gives."""
    good = json.loads((folder / "hostile" / "meta.json").read_text())
    weights = (folder / "hostile" / "model.keras").read_bytes()
    digest = hashlib.sha256(weights).hexdigest()
    cases = {
        "infinity": (json.dumps(good).replace('"test_loss": 0.05', '"test_loss": Infinity'), "Infinity"),
        "deep": ('{"a":' * 50_000 + "1" + "}" * 50_000, "larger than"),
        "wrong-types": (json.dumps({**good, "test_accuracy": "98%", "preset": {"x": 1}}), "must be"),
        "mismatch": (json.dumps({**good, "spec": {**good["spec"], "conv_filters": [16, 16]}}), "do not fit"),
        "other-weights": (json.dumps({**good, "weights_sha256": "0" * 64}), "digest differs"),
    }
    reasons = {"evil-layers": "layer names that DNN Lab never writes"}
    for name, (text, reason) in cases.items():
        (folder / name).mkdir()
        (folder / name / "model.keras").write_bytes(weights)
        meta = text.replace('"name": "hostile"', f'"name": "{name}"')
        (folder / name / "meta.json").write_text(meta)
        reasons[name] = reason
    assert digest == good["weights_sha256"]
    partial = folder / ".partial-killed-mid-save"  # a save whose process was killed
    partial.mkdir()
    (partial / "model.keras").write_bytes(weights[: len(weights) // 2])
    return reasons


@pytest.fixture(scope="session")
def hostile_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-models")
    hostile_model(folder)
    return folder, broken_entries(folder)


@pytest.fixture(scope="session")
def hostile_server(hostile_folder, tmp_path_factory):
    """(url, server process, models folder, reasons of the broken entries)."""
    folder, reasons = hostile_folder
    log_path = tmp_path_factory.mktemp("hostile-log") / "streamlit.log"
    process, url = start_streamlit({"DNNLAB_MODELS": str(folder), **LIMITS}, log_path=log_path)
    yield url, process, folder, reasons
    if process.poll() is not None:
        print(log_tail(log_path))
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
