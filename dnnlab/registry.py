"""Saved models: `models/<name>.keras` beside `models/<name>.json`.

Writes are atomic (a temporary file in the same folder, then `os.replace`), so a crash
or a stop never leaves half a model; an existing model is replaced only when asked.
Loading uses Keras `safe_mode=True`, so a file holding arbitrary code is refused.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import re
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dnnlab.architectures import ModelSpec, preset_of

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_save_lock = threading.Lock()


class RegistryError(Exception):
    """A model could not be saved or loaded; the message says why and what to do."""


class ModelExistsError(RegistryError):
    pass


def models_dir() -> Path:
    """`$DNNLAB_MODELS` or the project's `models/` folder."""
    default = Path(__file__).resolve().parent.parent / "models"
    return Path(os.environ.get("DNNLAB_MODELS", default))


def validate_name(name: str) -> str:
    """Return `name` if it is a valid model name, else raise a ValueError saying why."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        shown = name if isinstance(name, str) and len(name) <= 40 else f"{str(name)[:40]}…"
        raise ValueError(
            f"invalid model name {shown!r}: use 1-64 letters, digits, '-' or '_' "
            "(no spaces, dots or slashes), e.g. 'cnn-3-epochs'"
        )
    return name


@dataclass(frozen=True)
class ModelInfo:
    """One entry of `models/`: its metadata, or why it cannot be used."""

    name: str
    meta: dict
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def spec(self) -> ModelSpec:
        return ModelSpec.from_dict(self.meta["spec"])

    @property
    def preset(self) -> str | None:
        return self.meta.get("preset")

    @property
    def test_accuracy(self) -> float | None:
        return self.meta.get("test_accuracy")

    def summary(self) -> dict:
        m = self.meta
        return {
            "name": self.name,
            "preset": m.get("preset"),
            "params": m.get("params"),
            "epochs": m.get("epochs_completed", m.get("hyper", {}).get("epochs")),
            "test_accuracy": m.get("test_accuracy"),
            "test_loss": m.get("test_loss"),
            "train_seconds": m.get("train_seconds"),
            "created": m.get("created"),
            "error": self.error,
        }


def library_versions() -> dict:
    import keras
    import numpy
    import tensorflow

    return {
        "python": platform.python_version(),
        "tensorflow": tensorflow.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }


def build_meta(result, *, data_digest: str, name: str) -> dict:
    """The JSON record of a `TrainResult`."""
    spec = result.spec
    return {
        "name": name,
        "preset": preset_of(spec),
        "spec": spec.to_dict(),
        "hyper": result.hyper.to_dict(),
        "params": int(result.model.count_params()),
        "epochs_completed": result.epochs_completed,
        "stopped_early": result.stopped,
        "history": result.history,
        "test_accuracy": result.test_accuracy,
        "test_loss": result.test_loss,
        "train_seconds": round(result.train_seconds, 3),
        "epoch_seconds": [round(s, 3) for s in result.epoch_seconds],
        "data_digest": data_digest,
        "versions": library_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _atomic_write(path: Path, write) -> None:
    """Call `write(tmp_path)`, then move the finished file into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the model from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(model, meta: dict, name: str, *, replace: bool = False, directory: Path | None = None) -> Path:
    """Save a model and its metadata as `<name>.keras` + `<name>.json`; return the .keras path."""
    validate_name(name)
    folder = Path(directory or models_dir())
    keras_path, json_path = folder / f"{name}.keras", folder / f"{name}.json"
    meta = {**meta, "name": name}
    with _save_lock:
        if not replace and (keras_path.exists() or json_path.exists()):
            raise ModelExistsError(
                f"a model named {name!r} already exists; choose another name or replace it"
            )
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Weights first, then the JSON that lists them: a model is visible only
            # once both are complete.
            _atomic_write(keras_path, lambda p: model.save(p))
            text = json.dumps(meta, indent=2, allow_nan=True)
            _atomic_write(json_path, lambda p: p.write_text(text))
        except OSError as e:
            raise RegistryError(
                f"could not save {name!r} in {folder}: {e.strerror or e}. "
                "Check that the folder is writable and the disk is not full."
            ) from None
    return keras_path


def read_meta(name: str, directory: Path | None = None) -> dict:
    validate_name(name)
    path = Path(directory or models_dir()) / f"{name}.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise RegistryError(f"{path.name}: metadata file missing") from None
    except (OSError, ValueError) as e:
        raise RegistryError(f"{path.name}: unreadable metadata ({e})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("spec"), dict):
        raise RegistryError(f"{path.name}: metadata has no model spec")
    try:
        ModelSpec.from_dict(meta["spec"])
    except (TypeError, ValueError) as e:
        raise RegistryError(f"{path.name}: invalid spec ({e})") from None
    return meta


def list_models(directory: Path | None = None) -> list[ModelInfo]:
    """Every model in the folder, sorted by name; broken ones carry an `error`."""
    folder = Path(directory or models_dir())
    if not folder.is_dir():
        return []
    names = {
        p.stem for p in folder.iterdir() if p.suffix in (".keras", ".json") and not p.name.startswith(".")
    }
    infos = []
    for name in sorted(names):
        if not NAME_PATTERN.match(name):
            continue
        try:
            meta = read_meta(name, folder)
            error = check_weights_file(folder / f"{name}.keras")
        except RegistryError as e:
            meta, error = {}, str(e)
        infos.append(ModelInfo(name, meta, error))
    return infos


@functools.lru_cache(maxsize=256)
def _check_cached(path: Path, mtime_ns: int, size: int) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as e:
        return f"{path.name}: not a readable Keras file ({type(e).__name__})"
    if '"Lambda"' in json.dumps(config):
        return f"{path.name}: holds a Lambda layer (arbitrary code), refused by safe mode"
    return None


def check_weights_file(path: Path) -> str | None:
    """Why a `.keras` file cannot be used, or None: a cheap look at its zip and config.

    Lets the model list mark a corrupt or unsafe file as broken without loading it;
    `load` still decides, with `safe_mode=True`.
    """
    try:
        stat = path.stat()
    except OSError:
        return "weights file (.keras) missing"
    return _check_cached(path, stat.st_mtime_ns, stat.st_size)


def load(name: str, directory: Path | None = None):
    """(Keras model, metadata) of a saved model, loaded with `safe_mode=True`."""
    import keras

    folder = Path(directory or models_dir())
    meta = read_meta(name, folder)
    path = folder / f"{name}.keras"
    if not path.is_file():
        raise RegistryError(f"{path.name}: weights file missing")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=True)
    except Exception as e:  # Keras raises many types for corrupt or unsafe files
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise RegistryError(f"{path.name}: cannot be loaded safely ({first_line[:200]})") from None
    return model, meta
