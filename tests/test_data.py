"""MNIST loading: sources, verification, caching."""

import gzip

import numpy as np
import pytest

from dnnlab import data


def _write_idx(folder, arrays, *, gz=False):
    """Write the arrays back as IDX files: byte for byte the original MNIST files."""
    folder.mkdir(exist_ok=True)
    for stem, key in data.IDX_KEYS.items():
        a = arrays[key]
        header = bytes([0, 0, 8, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
        raw = header + a.tobytes()
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (folder / stem).write_bytes(raw)
    return folder


@pytest.fixture(scope="module")
def arrays(mnist):
    (xtr, ytr), (xte, yte) = mnist
    return {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}


def test_load_mnist_matches_keras_layout(mnist):
    (xtr, ytr), (xte, yte) = mnist
    assert xtr.shape == (60000, 28, 28) and xte.shape == (10000, 28, 28)
    assert ytr.shape == (60000,) and yte.shape == (10000,)
    assert {a.dtype for a in (xtr, ytr, xte, yte)} == {np.dtype("uint8")}
    assert set(np.unique(ytr)) == set(range(10))


def test_shared_arrays_are_read_only(mnist):
    with pytest.raises(ValueError):
        mnist[0][0][0, 0, 0] = 1


def test_limit_keeps_the_first_images(mnist):
    (xtr, ytr), (xte, yte) = data.load_mnist(limit=100)
    assert len(xtr) == len(ytr) == len(xte) == len(yte) == 100
    assert np.array_equal(xtr, mnist[0][0][:100])


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_is_verified_against_the_original_digests(tmp_path, arrays, gz):
    folder = _write_idx(tmp_path / "idx", arrays, gz=gz)
    loaded = data.read_idx_folder(folder)
    for key, a in arrays.items():
        assert np.array_equal(loaded[key], a)


def test_truncated_idx_file_is_refused_with_its_path(tmp_path, arrays):
    folder = _write_idx(tmp_path / "idx", arrays)
    path = folder / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.MnistError, match="t10k-labels-idx1-ubyte.*SHA-256"):
        data.read_idx_folder(folder)


def test_corrupt_gzip_is_refused(tmp_path, arrays):
    folder = _write_idx(tmp_path / "idx", arrays, gz=True)
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(data.MnistError, match="train-labels-idx1-ubyte.gz: corrupt gzip"):
        data.read_idx_folder(folder)


def test_npz_with_wrong_shapes_is_refused(tmp_path, arrays):
    bad = tmp_path / "bad.npz"
    np.savez(bad, **{**arrays, "x_test": arrays["x_test"][:5]})
    with pytest.raises(data.MnistError, match=r"bad.npz: x_test is uint8\(5, 28, 28\)"):
        data._read_npz(bad)


@pytest.mark.parametrize("key, change", [("y_test", "one label"), ("x_train", "all-zero images")])
def test_a_well_formed_file_with_other_contents_is_refused(tmp_path, arrays, key, change):
    a = arrays[key].copy()
    if change == "one label":
        a[0] = (a[0] + 1) % 10
    else:
        a[:] = 0
    bad = tmp_path / "other.npz"
    np.savez(bad, **{**arrays, key: a})
    with pytest.raises(data.MnistError, match=f"other.npz: {key} is not MNIST's"):
        data._read_npz(bad)


def test_a_failed_cache_write_leaves_no_partial_file(tmp_path, arrays, monkeypatch):
    monkeypatch.setenv("DNNLAB_CACHE", str(tmp_path / "cache"))

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.np, "savez", disk_full)
    data._save_cache(arrays)  # a cache is a convenience: no error, and nothing left over
    assert list((tmp_path / "cache").iterdir()) == []


def test_environment_variable_source_is_used_first(tmp_path, arrays, monkeypatch):
    _write_idx(tmp_path / "idx", arrays)
    monkeypatch.setenv("DNNLAB_MNIST", str(tmp_path / "idx"))
    loaded = data._find()
    assert loaded.source == "$DNNLAB_MNIST"
    assert loaded.digest == data.load().digest


def test_corrupt_source_is_skipped_and_reported_when_all_fail(tmp_path, monkeypatch):
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 truncated")
    monkeypatch.setenv("DNNLAB_MNIST", str(tmp_path / "broken.npz"))
    monkeypatch.setenv("DNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))

    def offline():
        raise data.MnistError("network unreachable")

    monkeypatch.setattr(data, "_from_keras_download", offline)
    monkeypatch.setattr(data, "_from_npm", offline)
    with pytest.raises(data.MnistError) as info:
        data._find()
    message = str(info.value)
    assert "broken.npz: not a readable .npz" in message
    assert "project cache" in message and "Keras cache" in message and "npm package" in message
    assert "Fix: set DNNLAB_MNIST" in message


def test_a_fetched_source_is_cached_for_the_next_load(tmp_path, arrays, monkeypatch):
    monkeypatch.delenv("DNNLAB_MNIST", raising=False)
    monkeypatch.setenv("DNNLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(
        data, "_from_keras_download", lambda: (_ for _ in ()).throw(data.MnistError("offline"))
    )
    monkeypatch.setattr(data, "_from_npm", lambda: dict(arrays))
    first = data._find()
    assert first.source.startswith("npm package")
    assert (tmp_path / "cache" / "mnist.npz").is_file()
    second = data._find()
    assert second.source.startswith("project cache") and second.digest == first.digest
