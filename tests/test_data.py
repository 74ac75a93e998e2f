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
    np.savez(bad, **{**arrays, "x_test": arrays["x_test"][:5], "y_test": arrays["y_test"][:5]})
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


# --- other digits in MNIST's format: a room's export, read as untrusted -----------------


@pytest.fixture
def room_export(tmp_path, mnist):
    """The .npz the Room page exports, from 60 MNIST test digits sent to a real SQLite room."""
    from dnnlab import room, room_analysis
    from tests.room_support import fill_room, stratified_digits

    store = room.Store(str(tmp_path / "room.sqlite3"))
    images, labels = stratified_digits(*mnist[1], per_digit=6)
    code = fill_room(store, images, labels)
    path = tmp_path / f"room-{code}.npz"
    path.write_bytes(room_analysis.mnist_npz(store.drawings(code)))
    store.close()
    return path, images, labels


def test_a_room_export_loads_through_dnnlab_mnist(room_export, monkeypatch):
    path, images, labels = room_export
    monkeypatch.setenv("DNNLAB_MNIST", str(path))
    loaded = data._find()
    (x_train, y_train), (x_test, y_test) = loaded.arrays
    assert (len(x_train), len(x_test)) == (30, 30)
    assert loaded.source == "$DNNLAB_MNIST (not MNIST: 30 training and 30 test digits)"
    # Every digit sent, once, with the label its student meant.
    sent = sorted(zip((x.tobytes() for x in images), labels.tolist(), strict=True))
    read = sorted(
        zip(
            (x.tobytes() for x in np.concatenate([x_train, x_test])),
            np.concatenate([y_train, y_test]).tolist(),
            strict=True,
        )
    )
    assert read == sent
    assert loaded.digest != data.load().digest


def test_other_digits_are_refused_from_the_caches(room_export):
    """Only $DNNLAB_MNIST may name other digits: a cache must be MNIST."""
    path, _, _ = room_export
    with pytest.raises(
        data.MnistError, match="x_train is uint8\\(30, 28, 28\\), expected uint8\\(60000, 28, 28\\)"
    ):
        data._read_npz(path)


def _npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _digits(n=4, label=3):
    return np.zeros((n, 28, 28), np.uint8), np.full(n, label, np.uint8)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"y_test": np.full(4, 12, np.uint8)}, "y_test holds 12; labels are digits 0-9"),
        (
            {"x_test": np.zeros((4, 28, 28), np.float32)},
            "x_test is float32 and y_test uint8, expected uint8 both",
        ),
        (
            {"x_train": np.zeros((4, 784), np.uint8)},
            r"x_train is \(4, 784\) and y_train \(4,\), expected n×28×28",
        ),
        ({"y_train": np.zeros(5, np.uint8)}, r"x_train is \(4, 28, 28\) and y_train \(5,\)"),
        (
            {"x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, np.uint8)},
            "x_test holds no images",
        ),
        (
            {"labels": np.zeros(4, np.uint8)},
            "expected exactly \\['x_train', 'y_train', 'x_test', 'y_test'\\]",
        ),
        ({"y_train": np.array([{"a": 1}] * 4, dtype=object)}, "y_train object, expected uint8 both"),
    ],
)
def test_a_malformed_digits_file_is_refused_saying_why(tmp_path, change, message):
    x, y = _digits()
    path = _npz(tmp_path / "digits.npz", **{"x_train": x, "y_train": y, "x_test": x, "y_test": y, **change})
    with pytest.raises(data.MnistError, match=message):
        data.read_digits_npz(path)


def test_a_header_claiming_huge_arrays_is_refused_before_loading(tmp_path):
    """The shape is read from each array's header: nothing is allocated for 10¹² images."""
    import io
    import zipfile

    x, y = _digits()
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as zf:
        for key, a in {"x_train": x, "y_train": y, "y_test": y}.items():
            buffer = io.BytesIO()
            np.save(buffer, a)
            zf.writestr(f"{key}.npy", buffer.getvalue())
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            buffer, {"descr": "|u1", "fortran_order": False, "shape": (10**12, 28, 28)}
        )
        zf.writestr("x_test.npy", buffer.getvalue())
    with pytest.raises(data.MnistError, match=r"x_test is \(1000000000000, 28, 28\) and y_test \(4,\)"):
        data.read_digits_npz(path)
    y_huge = tmp_path / "many.npz"
    with zipfile.ZipFile(y_huge, "w") as zf:
        for key, shape in {"x_train": (80_000, 28, 28), "y_train": (80_000,)}.items():
            buffer = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                buffer, {"descr": "|u1", "fortran_order": False, "shape": shape}
            )
            zf.writestr(f"{key}.npy", buffer.getvalue())
        for key, a in {"x_test": x, "y_test": y}.items():
            buffer = io.BytesIO()
            np.save(buffer, a)
            zf.writestr(f"{key}.npy", buffer.getvalue())
    with pytest.raises(data.MnistError, match="80,004 images, over the 70,000 allowed"):
        data.read_digits_npz(y_huge)


def test_a_file_over_the_size_bound_is_not_opened(tmp_path, monkeypatch):
    x, y = _digits()
    path = _npz(tmp_path / "digits.npz", x_train=x, y_train=y, x_test=x, y_test=y)
    monkeypatch.setattr(data, "MAX_NPZ_BYTES", path.stat().st_size - 1)
    monkeypatch.setattr(data.zipfile, "ZipFile", lambda *a: pytest.fail("opened a file over the bound"))
    with pytest.raises(data.MnistError, match="over the 0 MB allowed"):
        data.read_digits_npz(path)
    with pytest.raises(data.MnistError, match="the uploaded file: .* over the"):
        data.read_digits_npz(path.read_bytes())


def test_bytes_of_a_valid_file_read_like_the_file(tmp_path):
    x, y = _digits(6, label=7)
    path = _npz(tmp_path / "digits.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    from_bytes = data.read_digits_npz(path.read_bytes())
    assert {k: a.shape for k, a in from_bytes.items()} == {
        "x_train": (6, 28, 28),
        "y_train": (6,),
        "x_test": (2, 28, 28),
        "y_test": (2,),
    }
    assert set(from_bytes["y_train"].tolist()) == {7}
    with pytest.raises(data.MnistError, match="the uploaded file: not a readable .npz"):
        data.read_digits_npz(b"PK\x03\x04 not really a zip")
