"""Bad input gets a clear message and loses nothing: uploads, and training killed mid-way."""

import io
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from dnnlab import images, preprocess
from tests.conftest import ROOT


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _digit(mode="L") -> Image.Image:
    a = np.zeros((100, 100), np.uint8)
    a[20:80, 45:55] = 255  # a "1"
    return Image.fromarray(a).convert(mode)


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"", "empty"),
        (b"%PDF-1.4 this is not an image", "not a readable image"),
        (
            _encode(Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200), np.uint8)), "PNG")[
                :5000
            ],
            "damaged or truncated",
        ),
        (b"\x00" * (images.MAX_UPLOAD_BYTES + 1), "limit"),
    ],
)
def test_unreadable_uploads_are_refused_with_a_reason(payload, message):
    with pytest.raises(images.ImageError, match=message) as info:
        images.read_image(payload, name="upload.png")
    assert str(info.value).startswith("upload.png")


def test_decompression_bomb_is_refused_before_decoding():
    # 20000×20000 pixels compress to a few hundred kilobytes of PNG.
    bomb = _encode(Image.new("1", (20000, 20000)), "PNG")
    assert len(bomb) < images.MAX_UPLOAD_BYTES
    started = time.perf_counter()
    with pytest.raises(images.ImageError, match="too large"):
        images.read_image(bomb, name="bomb.png")
    assert time.perf_counter() - started < 2  # refused from the header, never decoded


@pytest.mark.parametrize(
    "payload",
    [
        _encode(_digit("CMYK"), "JPEG"),
        _encode(Image.fromarray(np.asarray(_digit(), np.uint16) * 257), "PNG"),  # 16-bit grey
        _encode(
            _digit("RGB"), "GIF", save_all=True, append_images=[Image.new("RGB", (100, 100))], duration=100
        ),
        _encode(_digit("RGBA"), "WEBP"),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "animated-gif", "webp"],
)
def test_unusual_but_valid_images_are_read_and_prepared(payload):
    image = images.read_image(payload, name="odd")
    prepared = preprocess.prepare(image)
    assert prepared.shape == (28, 28) and prepared.max() > 100


def test_training_killed_midway_leaves_models_untouched(tmp_path):
    """A server restarted during training: nothing half-written, nothing lost."""
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "meta.json").write_text(json.dumps({"spec": {}}))
    (tmp_path / "keep" / "model.keras").write_bytes(b"an earlier model")
    before = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    env = {**os.environ, "DNNLAB_MODELS": str(tmp_path)}
    command = [sys.executable, "-m", "dnnlab", "train", "--preset", "cnn", "--epochs", "50"]
    command += ["--limit", "5000", "--name", "keep2"]
    with open(tmp_path.parent / "stderr.txt", "w") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            # The CLI's own output comes first: training is under way.
            assert process.stdout.readline().startswith("epoch 1/50")
        finally:
            process.kill()
            process.wait(timeout=30)
    after = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_the_cli_speaks_before_tensorflow_does():
    """TensorFlow's C++ start-up lines (absl, oneDNN) never reach the terminal."""
    result = subprocess.run(
        [sys.executable, "-m", "dnnlab", "presets"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["preset", "params", "talk", "description"]
    assert result.stderr == ""
