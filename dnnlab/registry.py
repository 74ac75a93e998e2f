"""Saved models: one folder per model, `models/<name>/` holding `model.keras` and `meta.json`.

A model is one unit. It is written into a hidden folder beside the others and renamed
into place when complete, so a reader sees the whole model or none of it; the metadata
records the SHA-256 of the weights file, checked before the weights are used, so weights
and metadata from different saves cannot pass for one model. Saves hold an exclusive
lock on `models/.lock` (across processes), and the hidden folders of a save that was
interrupted are removed by the next process that takes the lock.

Everything in `models/` is untrusted input (a shared folder, files copied by hand): the
metadata is read size-bounded, parsed without `NaN`/`Infinity`, checked field by field
into a typed `ModelMeta`; a bad entry is listed as broken with its reason while the
others keep working. Keras loads with `safe_mode=True`, and the loaded network must
have exactly the layers its spec describes.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import math
import os
import platform
import re
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from dnnlab import limits
from dnnlab.architectures import PRESETS, ModelSpec, preset_of

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LAYER_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
WEIGHTS_FILE, META_FILE, LOCK_FILE = "model.keras", "meta.json", ".lock"
SNAPSHOTS_FILE = "snapshots.npz"  # optional: the layers as they learned (dnnlab.snapshots)
MAX_SNAPSHOTS_BYTES = 16 * 2**20  # unpacked; 60 snapshots of 6 layers take ~4 MB
PARTIAL_PREFIX = ".partial-"  # a save in progress (or interrupted)
MAX_META_BYTES = 256 * 1024  # 200 epochs of history take ~20 KB
MAX_CONFIG_BYTES = 1024 * 1024  # a Keras config.json: a few KB for the talk's networks
MAX_LISTED = 500  # entries `list_models` looks at, whatever else the folder holds
MAX_HISTORY_EPOCHS = 1000
_thread_lock = threading.Lock()  # flock is per open file: threads need their own lock


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


def suggest_name(preset: str | None, epochs: int, taken: Iterable[str]) -> str:
    """A model name that is free: `cnn-3-epochs`, then `cnn-3-epochs-2`, …"""
    base = f"{preset or 'custom'}-{epochs}-epoch{'s' if epochs != 1 else ''}"
    taken = set(taken)
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


# --- metadata: untrusted JSON → typed fields ---------------------------------------


class MetaError(ValueError):
    """Metadata that is not what `build_meta` writes; the message names the field."""


def _number(value, name: str, *, low: float = -math.inf, high: float = math.inf, integer=False):
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        raise MetaError(f"{name} must be {'a whole number' if integer else 'a number'}")
    if not (low <= value <= high):  # also false for NaN
        raise MetaError(f"{name} must be between {low:g} and {high:g}")
    return value if integer else float(value)


def _optional_number(value, name: str, **bounds):
    return None if value is None else _number(value, name, **bounds)


def _text(value, name: str, max_chars: int = 200) -> str:
    if not isinstance(value, str) or len(value) > max_chars:
        raise MetaError(f"{name} must be text of at most {max_chars} characters")
    return value


def _numbers(value, name: str, max_items: int = MAX_HISTORY_EPOCHS, **bounds) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) > max_items:
        raise MetaError(f"{name} must be a list of at most {max_items} numbers")
    return tuple(_number(v, f"{name}[{i}]", **bounds) for i, v in enumerate(value))


@dataclass(frozen=True)
class ModelMeta:
    """What `build_meta` records about a saved model, every field checked."""

    name: str
    spec: ModelSpec
    weights_sha256: str
    preset: str | None = None
    hyper: dict = field(default_factory=dict)  # HyperParams' fields: numbers only
    params: int | None = None
    epochs_completed: int | None = None
    stopped_early: bool = False
    best_epoch: int | None = None  # the epoch whose weights were kept (train's keep_best)
    history: dict = field(default_factory=dict)  # metric → one number per epoch
    test_accuracy: float | None = None
    test_loss: float | None = None
    train_seconds: float | None = None
    epoch_seconds: tuple[float, ...] = ()
    data_digest: str | None = None
    data_limit: int | None = None
    versions: dict = field(default_factory=dict)
    created: str | None = None

    @classmethod
    def parse(cls, raw: object) -> ModelMeta:
        """Check a parsed JSON value field by field; a `MetaError` names the first bad one."""
        if not isinstance(raw, dict):
            raise MetaError("metadata must be a JSON object")
        spec_dict = raw.get("spec")
        if not isinstance(spec_dict, dict):
            raise MetaError("metadata has no model spec")
        try:
            spec = ModelSpec.from_dict(spec_dict)
        except Exception as e:  # from_dict's checks raise TypeError/ValueError/…
            raise MetaError(f"invalid spec ({type(e).__name__}: {str(e)[:120]})") from None
        sha = raw.get("weights_sha256")
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise MetaError("no weights digest (weights_sha256): not saved by this version of DNN Lab")
        hyper = raw.get("hyper", {})
        if not isinstance(hyper, dict) or len(hyper) > 20:
            raise MetaError("hyper must be an object of at most 20 numbers")
        history = raw.get("history", {})
        if not isinstance(history, dict) or len(history) > 20:
            raise MetaError("history must be an object of at most 20 metrics")
        versions = raw.get("versions", {})
        if not isinstance(versions, dict) or len(versions) > 20:
            raise MetaError("versions must be an object of at most 20 entries")
        preset = raw.get("preset")
        stopped = raw.get("stopped_early", False)
        if not isinstance(stopped, bool):
            raise MetaError("stopped_early must be true or false")
        optional_text = {k: raw.get(k) for k in ("data_digest", "created")}
        return cls(
            name=validate_meta_name(raw.get("name")),
            spec=spec,
            weights_sha256=sha,
            preset=None if preset is None else _text(preset, "preset", 64),
            hyper={_text(k, "hyper key", 40): _number(v, f"hyper.{k}") for k, v in hyper.items()},
            params=_optional_number(raw.get("params"), "params", low=0, integer=True),
            epochs_completed=_optional_number(
                raw.get("epochs_completed"), "epochs_completed", low=0, integer=True
            ),
            stopped_early=stopped,
            best_epoch=_optional_number(raw.get("best_epoch"), "best_epoch", low=1, integer=True),
            history={_text(k, "history key", 40): _numbers(v, f"history.{k}") for k, v in history.items()},
            test_accuracy=_optional_number(raw.get("test_accuracy"), "test_accuracy", low=0, high=1),
            test_loss=_optional_number(raw.get("test_loss"), "test_loss", low=0),
            train_seconds=_optional_number(raw.get("train_seconds"), "train_seconds", low=0),
            epoch_seconds=_numbers(raw.get("epoch_seconds", []), "epoch_seconds", low=0),
            data_limit=_optional_number(raw.get("data_limit"), "data_limit", low=1, integer=True),
            versions={
                _text(k, "versions key", 40): _text(v, f"versions.{k}", 40) for k, v in versions.items()
            },
            **{k: None if v is None else _text(v, k, 100) for k, v in optional_text.items()},
        )

    def to_dict(self) -> dict:
        """The plain record, as `build_meta` wrote it (lists, not tuples)."""
        d = {f: getattr(self, f) for f in self.__dataclass_fields__}
        # As `ModelSpec.to_dict`, without `dataclasses.asdict`'s deep copies: listing
        # builds this for every model on every page run.
        d["spec"] = {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in ((f, getattr(self.spec, f)) for f in self.spec.__dataclass_fields__)
        }
        d["history"] = {k: list(v) for k, v in self.history.items()}
        d["epoch_seconds"] = list(self.epoch_seconds)
        return d


def validate_meta_name(value) -> str:
    try:
        return validate_name(value)
    except ValueError:
        raise MetaError("name must be a valid model name") from None


def parse_meta_bytes(data: bytes) -> ModelMeta:
    """Bytes of a `meta.json`, however hostile, to a `ModelMeta` or a `MetaError`."""
    if len(data) > MAX_META_BYTES:
        raise MetaError(f"metadata is larger than {MAX_META_BYTES // 1024} KB")

    def refuse_constant(name):
        raise MetaError(f"metadata holds {name}, which JSON does not allow")

    try:
        raw = json.loads(data.decode("utf-8"), parse_constant=refuse_constant)
    except RecursionError:
        raise MetaError("metadata is nested too deeply") from None
    except (UnicodeDecodeError, ValueError) as e:  # JSONDecodeError is a ValueError
        if isinstance(e, MetaError):
            raise
        raise MetaError(f"unreadable metadata ({str(e)[:100]})") from None
    return ModelMeta.parse(raw)


# --- what is saved ------------------------------------------------------------------


@dataclass(frozen=True)
class ModelInfo:
    """One entry of `models/`: its metadata, or why it cannot be used."""

    name: str
    meta: dict  # ModelMeta.to_dict(): checked values, empty for a broken entry
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
            "epochs": m.get("hyper", {}).get("epochs")
            if m.get("epochs_completed") is None
            else m["epochs_completed"],
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
    """The JSON record of a `TrainResult` (`save` adds the weights' digest)."""
    spec = result.spec
    return {
        "name": name,
        "preset": preset_of(spec),
        "spec": spec.to_dict(),
        "hyper": result.hyper.to_dict(),
        "params": int(result.model.count_params()),
        "epochs_completed": result.epochs_completed,
        "stopped_early": result.stopped,
        "best_epoch": getattr(result, "best_epoch", None),
        "history": result.history,
        "test_accuracy": result.test_accuracy,
        "test_loss": result.test_loss,
        "train_seconds": round(result.train_seconds, 3),
        "epoch_seconds": [round(s, 3) for s in result.epoch_seconds],
        "data_digest": data_digest,
        "versions": library_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --- saving: build aside, rename into place, under a lock ----------------------------


@contextlib.contextmanager
def _locked(folder: Path, *, blocking: bool = True):
    """Exclusive use of `folder` for saving, across threads and processes.

    Yields False (and holds nothing) when `blocking` is False and someone else has it.
    """
    if not _thread_lock.acquire(blocking=blocking):
        yield False
        return
    try:
        with open(folder / LOCK_FILE, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                _remove_partial_saves(folder)  # nobody else is saving: these are leftovers
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        _thread_lock.release()


def _remove_partial_saves(folder: Path) -> None:
    for entry in os.scandir(folder):
        if entry.name.startswith(PARTIAL_PREFIX):
            shutil.rmtree(entry.path, ignore_errors=True)


def clean_leftovers(directory: Path | None = None) -> None:
    """Remove what interrupted saves left behind, unless a save is under way right now."""
    folder = Path(directory or models_dir())
    if folder.is_dir():
        with contextlib.suppress(OSError), _locked(folder, blocking=False):
            pass  # taking the lock cleans up


def folder_bytes(folder: Path) -> int:
    """Bytes held by the saved models (hidden entries included: they take space too)."""
    total = 0
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            total += sum(f.stat().st_size for f in Path(entry.path).iterdir() if f.is_file())
        elif entry.is_file(follow_symlinks=False):
            total += entry.stat().st_size
    return total


def sha256_of(path: Path, max_bytes: int | None = None) -> str:
    digest, read = hashlib.sha256(), 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            read += len(chunk)
            if max_bytes is not None and read > max_bytes:
                raise RegistryError(f"{path.name}: larger than {max_bytes / 2**20:g} MB")
            digest.update(chunk)
    return digest.hexdigest()


def save(
    model, meta: dict, name: str, *, replace: bool = False, directory: Path | None = None, snapshots=None
) -> Path:
    """Save a model and its metadata as `<folder>/<name>/`; return that folder.

    `snapshots` (a `dnnlab.snapshots.Snapshots`) is saved in the same folder, so it
    arrives with the model or not at all.

    Refused (nothing written) if the name is taken and `replace` is False, or if the
    folder would grow past the lecturer's size limit (`DNNLAB_MODELS_MAX_MB`).
    """
    validate_name(name)
    folder = Path(directory or models_dir())
    target = folder / name
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder):
            if not replace and (target.exists() or target.is_symlink()):
                raise ModelExistsError(
                    f"a model named {name!r} already exists; choose another name or replace it"
                )
            partial = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{name}-", dir=folder))
            try:
                weights = partial / WEIGHTS_FILE
                model.save(weights)
                if snapshots is not None:
                    import numpy as np

                    np.savez_compressed(partial / SNAPSHOTS_FILE, **snapshots.to_arrays())
                size = weights.stat().st_size
                _check_room(folder, target, size)
                record = {**meta, "name": name, "weights_sha256": sha256_of(weights), "weights_bytes": size}
                ModelMeta.parse(json.loads(json.dumps(record, allow_nan=False)))  # what load will accept
                (partial / META_FILE).write_text(json.dumps(record, indent=2, allow_nan=False))
                os.chmod(partial, 0o755)  # mkdtemp's 0700 would hide the model from other users
                _move_into_place(partial, target)
            except BaseException:
                shutil.rmtree(partial, ignore_errors=True)
                raise
    except (MetaError, ValueError) as e:
        raise RegistryError(f"could not save {name!r}: {e}") from None
    except OSError as e:
        raise RegistryError(
            f"could not save {name!r} in {folder}: {e.strerror or e}. "
            "Check that the folder is writable and the disk is not full."
        ) from None
    return target


def shipped(name: str) -> bool:
    """Whether a name is one of the talk's runs that `make presets` ships (`cnn`,
    `cnn-seed3`, ...): the staircase, the Room and the comparisons read them."""
    base, marker, seed = name.partition("-seed")
    return name in PRESETS or (base in PRESETS and marker and seed.isdigit())


def delete(name: str, directory: Path | None = None, *, allow_shipped: bool = False) -> None:
    """Remove a saved model, whole: under the save lock its folder is renamed aside (so no
    reader sees half a model), then removed. The shipped runs are refused unless
    `allow_shipped`: on a shared server one student must not remove them for everyone."""
    validate_name(name)
    if shipped(name) and not allow_shipped:
        raise RegistryError(
            f"{name!r} is one of the talk's shipped runs, which everyone's pages read; "
            "only the lecturer can remove it, by deleting its folder from models/"
        )
    folder = Path(directory or models_dir())
    target = folder / name
    try:
        with _locked(folder):
            if not (target.exists() or target.is_symlink()):
                raise RegistryError(f"there is no model named {name!r}")
            aside = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{name}-deleted-", dir=folder))
            os.rename(target, aside / "model")
            shutil.rmtree(aside, ignore_errors=True)
    except OSError as e:
        raise RegistryError(f"could not delete {name!r} from {folder}: {e.strerror or e}") from None


def _check_room(folder: Path, target: Path, size: int) -> None:
    cap = limits.current().models_max_bytes
    replaced = folder_bytes(target) if target.is_dir() else 0
    after = folder_bytes(folder) - replaced  # the partial save is counted in here already
    if after > cap:
        raise RegistryError(
            f"the models folder would hold {after / 2**20:.0f} MB, over the lecturer's limit of "
            f"{cap / 2**20:.0f} MB (DNNLAB_MODELS_MAX_MB); this model needs {size / 2**20:.1f} MB. "
            "Delete a model you no longer need, or ask the lecturer to raise the limit."
        )


def _move_into_place(partial: Path, target: Path) -> None:
    """Rename the finished folder to its name; an old model of that name is moved aside
    first and removed after, so the name never means a half-written model. Between the
    two renames the name means nothing: a reader that finds it missing waits for this
    lock and looks again (`_consistent`)."""
    if not (target.exists() or target.is_symlink()):
        os.rename(partial, target)
        return
    aside = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{target.name}-old-", dir=target.parent))
    os.rename(target, aside / "model")
    os.rename(partial, target)
    shutil.rmtree(aside, ignore_errors=True)


# --- reading -------------------------------------------------------------------------


def _read_bounded(path: Path, limit: int) -> bytes:
    with open(path, "rb") as file:
        return file.read(limit + 1)


def read_meta(name: str, directory: Path | None = None) -> dict:
    """The checked metadata of a saved model as a plain dict (see `ModelMeta`)."""
    return _meta(name, Path(directory or models_dir())).to_dict()


def _meta(name: str, folder: Path) -> ModelMeta:
    validate_name(name)
    path = folder / name / META_FILE
    try:
        data = _read_bounded(path, MAX_META_BYTES)
    except FileNotFoundError:
        if (folder / f"{name}.keras").exists() or (folder / f"{name}.json").exists():
            raise RegistryError(
                f"{name}: saved in the old two-file layout (.keras + .json); retrain and save it again"
            ) from None
        if not (folder / name).exists():
            raise RegistryError(f"{name}: no saved model of this name") from None
        raise RegistryError(f"{name}: metadata file ({META_FILE}) missing") from None
    except OSError as e:
        raise RegistryError(f"{name}: unreadable metadata ({e.strerror or e})") from None
    try:
        meta = parse_meta_bytes(data)
    except MetaError as e:
        raise RegistryError(f"{name}: {e}") from None
    if meta.name != name:
        raise RegistryError(f"{name}: its metadata names another model ({meta.name})")
    return meta


def list_models(directory: Path | None = None) -> list[ModelInfo]:
    """Every model in the folder, sorted by name; broken ones carry an `error`."""
    folder = Path(directory or models_dir())
    if not folder.is_dir():
        return []
    names, leftovers = set(), False
    with os.scandir(folder) as entries:
        for entry in entries:
            leftovers |= entry.name.startswith(PARTIAL_PREFIX)
            stem = entry.name.removesuffix(".keras").removesuffix(".json")
            if NAME_PATTERN.match(stem) and len(names) < MAX_LISTED:
                names.add(stem)
    if leftovers:  # the first look at the folder after a crash (a save under way is kept)
        clean_leftovers(folder)
    return [_info(name, folder) for name in sorted(names)]


def _info(name: str, folder: Path) -> ModelInfo:
    def read():
        try:
            meta = _meta(name, folder)
            error = check_weights_file(folder / name / WEIGHTS_FILE, meta.weights_sha256, meta.spec)
            return ModelInfo(name, meta.to_dict() if error is None else {}, error)
        except RegistryError as e:
            return ModelInfo(name, {}, str(e))

    return _consistent(folder / name, read)


def _identity(path: Path):
    try:
        st = path.stat()
        return st.st_ino, st.st_ctime_ns
    except OSError:
        return None


def _consistent(path: Path, read, attempts: int = 5):
    """`read()`, again if the model's folder was replaced while it ran.

    A save never changes a model's folder: it renames a whole new one into place. So a
    read during which the folder stayed the same saw one model; one that overlapped a
    replacement may have seen half of each, and is repeated.
    """
    for _ in range(attempts):
        before = _identity(path)
        result = read()
        after = _identity(path)
        if after is None:
            # Missing: deleted, or a replacement between its two renames (seen by a page
            # listing the models while another process saved over one of them).
            _wait_for_saver(path.parent)
            if _identity(path) is None:
                return result
        elif after == before:
            return result
    return result


def _wait_for_saver(folder: Path) -> None:
    """Until a save or delete under way in `folder` (any process) has finished."""
    try:
        with _locked(folder):
            pass
    except OSError:
        pass  # a folder we cannot lock (read-only) has no saver to wait for


def stamp(name: str, directory: Path | None = None) -> int:
    """Changes whenever the model of this name is replaced (a cache key); 0 if absent."""
    try:
        return (Path(directory or models_dir()) / name).stat().st_mtime_ns
    except (OSError, ValueError):
        return 0


@functools.lru_cache(maxsize=2 * MAX_LISTED)  # every listed model, cached by its file's identity
def _check_cached(
    path: Path, sha256: str, spec: ModelSpec, mtime_ns: int, size: int, inode: int
) -> str | None:
    label = f"{path.parent.name}/{path.name}"
    if size > limits.current().model_max_bytes:
        return f"{label}: {size / 2**20:.0f} MB is larger than any model DNN Lab saves"
    try:
        if sha256_of(path) != sha256:
            return f"{label}: does not match its metadata (weights digest differs)"
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                return f"{label}: its Keras config is implausibly large"
            config = json.loads(archive.read(info), parse_constant=float)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, RecursionError) as e:
        return f"{label}: not a readable Keras file ({type(e).__name__})"
    if '"Lambda"' in json.dumps(config):
        return f"{label}: holds a Lambda layer (arbitrary code), refused by safe mode"
    odd = [name for name in _layer_names(config) if not LAYER_NAME.fullmatch(name)]
    if odd:
        # Keras names layers `dense_1`, `conv2d` …; anything else was put there by hand,
        # and TensorFlow cannot even run it (a layer name is a graph scope name).
        return f"{path.parent.name}: layer names that DNN Lab never writes ({odd[0][:60]!r})"
    if _layers(config) != _planned_layers(spec):
        return f"{path.parent.name}: the weights do not fit its spec (layers {_layers(config)[:6]}…)"
    return None


def _layer_names(config) -> list[str]:
    try:
        names = [config["config"]["name"], *(layer["config"]["name"] for layer in config["config"]["layers"])]
    except (TypeError, KeyError, AttributeError):
        return ["(unreadable config)"]
    return [name if isinstance(name, str) else repr(name) for name in names]


def _layers(config) -> list:
    """(class, filters or units) of the Conv2D and Dense layers in a Keras config."""
    try:
        layers = config["config"]["layers"]
        return [
            (layer["class_name"], layer["config"].get("filters", layer["config"].get("units")))
            for layer in layers
            if layer["class_name"] in ("Conv2D", "Dense")
        ]
    except (TypeError, KeyError, AttributeError):
        return []


def _planned_layers(spec: ModelSpec) -> list:
    from dnnlab.architectures import layer_plan

    return [(cls, args[0]) for cls, args, _ in layer_plan(spec) if cls in ("Conv2D", "Dense")]


def check_weights_file(path: Path, sha256: str, spec: ModelSpec) -> str | None:
    """Why a weights file cannot be used, or None: its size, digest, zip and config.

    Cached by the file's identity, so listing stays cheap; `load` still decides, with
    `safe_mode=True` and a look at every layer.
    """
    try:
        st = path.stat()
    except OSError:
        return f"{path.parent.name}: weights file ({WEIGHTS_FILE}) missing"
    return _check_cached(path, sha256, spec, st.st_mtime_ns, st.st_size, st.st_ino)


def load(name: str, directory: Path | None = None):
    """(Keras model, metadata dict) of a saved model, verified and loaded with `safe_mode`."""
    import keras

    folder = Path(directory or models_dir())

    def read():
        try:
            meta = _meta(name, folder)
            path = folder / name / WEIGHTS_FILE
            error = check_weights_file(path, meta.weights_sha256, meta.spec)
            if error:
                raise RegistryError(error)
            try:
                model = keras.saving.load_model(path, safe_mode=True, compile=True)
            except Exception as e:  # Keras raises many types for corrupt or unsafe files
                line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise RegistryError(
                    f"{name}/{WEIGHTS_FILE}: cannot be loaded safely ({line[:200]})"
                ) from None
            mismatch = _spec_mismatch(model, meta.spec)
            if mismatch:
                raise RegistryError(f"{name}: the weights do not fit its spec ({mismatch})")
            return model, meta.to_dict()
        except RegistryError as e:
            return e

    result = _consistent(folder / name, read)
    if isinstance(result, RegistryError):
        raise result
    return result


def load_snapshots(name: str, directory: Path | None = None):
    """The `Snapshots` saved with a model, None if it has none; a `RegistryError` says
    why a file cannot be used (the model itself still loads: it does not depend on it).

    The file is untrusted: its size and every array's declared size are bounded before
    anything is unpacked, arrays are read without pickle, then checked by
    `Snapshots.from_arrays`.
    """
    from dnnlab.snapshots import SnapshotError, Snapshots

    validate_name(name)
    path = Path(directory or models_dir()) / name / SNAPSHOTS_FILE
    if not path.is_file():
        return None
    try:
        return Snapshots.from_arrays(_read_npz(path, MAX_SNAPSHOTS_BYTES))
    except (SnapshotError, OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise RegistryError(
            f"{name}/{SNAPSHOTS_FILE}: not usable ({str(e)[:160]}); the model itself is fine"
        ) from None


def _read_npz(path: Path, max_bytes: int, max_arrays: int = 20) -> dict:
    """The arrays of an `.npz` file, read with every size checked before it is allocated.

    `numpy.load` allocates what an array's header claims before reading its data, and a
    compressed member can unpack to far more than the file's size: both are checked
    against `max_bytes` first.
    """
    from numpy.lib import format as npy

    if path.stat().st_size > max_bytes:
        raise ValueError(f"larger than {max_bytes / 2**20:g} MB")
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > max_arrays or sum(m.file_size for m in members) > max_bytes:
            raise ValueError(f"more than {max_arrays} arrays or {max_bytes / 2**20:g} MB unpacked")
        for member in members:
            with archive.open(member) as file:
                version = npy.read_magic(file)
                header = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
                shape, _, dtype = header(file)
                if dtype.hasobject or math.prod(shape) * dtype.itemsize > member.file_size:
                    raise ValueError(f"{member.filename}: objects, or more data than the file holds")
            with archive.open(member) as file:
                arrays[member.filename.removesuffix(".npy")] = npy.read_array(file, allow_pickle=False)
    return arrays


def _spec_mismatch(model, spec: ModelSpec) -> str | None:
    """How the loaded network differs from the one its spec builds, or None."""
    from dnnlab.architectures import build_model

    expected = [tuple(w.shape) for w in build_model(spec).weights]
    found = [tuple(w.shape) for w in model.weights]
    if expected != found:
        return f"weight shapes {found[:4]}… where the spec builds {expected[:4]}…"
    if tuple(model.input_shape[1:]) != tuple(spec.input_shape) or tuple(model.output_shape[1:]) != (10,):
        return f"input {model.input_shape}, output {model.output_shape}"
    return None
