"""Representations forming during training: the recorder, its saved file, hostile files."""

import math
import zipfile

import numpy as np
import pytest

from dnnlab import registry, rsa, snapshots
from dnnlab.architectures import preset_spec
from dnnlab.training import train
from tests.conftest import wait_watched

EPOCHS = 3


@pytest.fixture(scope="module")
def trained(small_mnist):
    return train(preset_spec("mlp-relu"), small_mnist, epochs=EPOCHS, snapshots=True)


def test_snapshots_at_the_start_in_the_first_epoch_and_every_epoch_end(trained, small_mnist):
    s = trained.snapshots
    batches = math.ceil(len(small_mnist[0][0]) / 32)
    first_epoch = [e for e in s.epoch if 0 < e < 1]
    assert s.epoch[0] == 0 and s.step[0] == 0
    assert 1 <= len(first_epoch) <= len(snapshots.FIRST_EPOCH_FRACTIONS)
    assert list(s.epoch[-EPOCHS:]) == list(range(1, EPOCHS + 1))
    assert list(s.step[-EPOCHS:]) == [batches * e for e in range(1, EPOCHS + 1)]
    assert len(s) == 1 + len(first_epoch) + EPOCHS
    m = snapshots.PER_CLASS * 10
    assert s.layers == tuple(rsa.stages(trained.model)[1:])
    assert s.rdms.shape == (len(s), len(s.layers), m * (m - 1) // 2)
    assert s.embedding.shape == (len(s), m, 2)
    assert np.bincount(s.labels).tolist() == [snapshots.PER_CLASS] * 10
    assert (small_mnist[1][1][s.stimuli] == s.labels).all()


def test_the_last_snapshot_is_the_trained_network(trained, small_mnist):
    s = trained.snapshots
    x = small_mnist[1][0][s.stimuli]
    again = rsa.representational_similarity(trained.model, trained.spec, x, s.labels, resamples=0)
    stage = again.names.index(s.embedded_layer)
    assert np.allclose(s.rdm(len(s) - 1, s.embedded_layer), again.rdms[stage], atol=2e-3)  # float16


def test_classes_separate_as_the_network_learns(trained):
    s = trained.snapshots
    separation = s.separation()
    assert separation[-1] > separation[0] * 1.2, separation

    # the embedding shows it too: classes' centres further apart, relative to their spread
    def spread_ratio(points):
        centres = np.stack([points[s.labels == c].mean(axis=0) for c in range(10)])
        within = np.mean([points[s.labels == c].var(axis=0).sum() for c in range(10)])
        return centres.var(axis=0).sum() / within

    assert spread_ratio(s.embedding[-1]) > spread_ratio(s.embedding[0])


def test_the_embedding_uses_one_projection():
    rng = np.random.default_rng(0)
    final = rng.normal(size=(50, 8)) * [5, 3, 1, 1, 1, 1, 1, 1]
    points = snapshots.embed([final * 2, final])
    assert np.allclose(points[0], points[1], atol=1e-5)  # same arrangement, scale removed
    assert np.allclose(np.sqrt((points[1] ** 2).sum(axis=1).mean()), 1)


def test_saved_with_the_model_and_read_back(models_dir, trained):
    meta = registry.build_meta(trained, data_digest="test", name="with")
    registry.save(trained.model, meta, "with", snapshots=trained.snapshots)
    registry.save(trained.model, {**meta, "name": "without"}, "without")
    back = registry.load_snapshots("with")
    s = trained.snapshots
    assert back.layers == s.layers and back.embedded_layer == s.embedded_layer
    for key, value in s.to_arrays().items():
        assert np.array_equal(back.to_arrays()[key], value), key
    assert registry.load_snapshots("without") is None


def _write(path, **arrays):
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "hostile",
    [
        "huge",
        "bomb",
        "pickle",
        "shape",
        "not-zip",
        "missing",
    ],
)
def test_a_hostile_snapshots_file_is_refused_and_the_model_still_loads(models_dir, trained, hostile):
    meta = registry.build_meta(trained, data_digest="test", name="target")
    registry.save(trained.model, meta, "target", snapshots=trained.snapshots)
    path = models_dir / "target" / registry.SNAPSHOTS_FILE
    arrays = trained.snapshots.to_arrays()
    if hostile == "huge":
        path.write_bytes(b"\0" * (registry.MAX_SNAPSHOTS_BYTES + 1))
    elif hostile == "bomb":  # a small file that unpacks to far more than the limit
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("epoch.npy", b"\0" * (registry.MAX_SNAPSHOTS_BYTES + 1))
    elif hostile == "pickle":
        _write(path, **{**arrays, "layers": np.array([{"a": 1}], dtype=object)})
    elif hostile == "shape":
        _write(path, **{**arrays, "embedding": arrays["embedding"][:, :5]})
    elif hostile == "not-zip":
        path.write_bytes(b"PK\x03\x04 not really a zip")
    elif hostile == "missing":
        _write(path, **{k: v for k, v in arrays.items() if k != "rdms"})
    with pytest.raises(registry.RegistryError, match="snapshots.npz: not usable") as refused:
        registry.load_snapshots("target")
    assert "the model itself is fine" in str(refused.value)
    model, loaded = registry.load("target")
    assert loaded["name"] == "target" and model.count_params() == trained.model.count_params()


def test_the_train_page_path_brings_snapshots_back_from_the_training_process():
    from dnnlab import jobs
    from dnnlab.config import TrainConfig
    from dnnlab.worker import Worker

    worker = Worker(niceness=0)
    try:
        config = TrainConfig().with_preset("mlp-relu")
        config = TrainConfig(config.spec, type(config.hyper)(epochs=1, train_images=1000))
        job = jobs.Job(config, limit=1000, train_fn=worker.train)
        jobs.Trainer().submit(job)
        assert wait_watched(job, timeout=600), "the job did not finish"
        assert job.error is None, job.error
        s = job.result.snapshots
        assert s is not None and s.epoch[0] == 0 and s.epoch[-1] == 1
        assert s.embedding.shape == (len(s), snapshots.PER_CLASS * 10, 2)
        off = TrainConfig(config.spec, config.hyper, snapshots=False).train_kwargs()
        assert off["snapshots"] is False
    finally:
        worker.close()
