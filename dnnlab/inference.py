"""From a drawing or a photo to the ten probabilities, the way MNIST itself was made.

MNIST digits were scaled to fit a 20×20 box (aspect ratio kept, anti-aliased) and
centred by their centre of mass in a 28×28 frame, white ink on black. `prepare` does
the same to any image, so a network trained on MNIST can read it.
"""

from __future__ import annotations

import io
import threading
import warnings
import weakref
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from dnnlab.architectures import ModelSpec, prepare_inputs

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 25_000_000  # 5000×5000; larger files are decompression bombs, not digits
INK_THRESHOLD = 0.2  # fraction of full contrast above which a pixel counts as ink
MIN_INK_PIXELS = 4


class ImageError(ValueError):
    """An image that cannot be read or holds no digit; the message says which."""


class BlankImageError(ImageError):
    pass


def read_image(source: bytes | str | Path, *, name: str | None = None) -> np.ndarray:
    """Decode an uploaded file (bytes or a path) into an RGBA or grey uint8 array.

    Refuses empty, oversized, truncated and non-image files with an `ImageError` that
    names the file. Animated images give their first frame; 16-bit and CMYK images are
    converted.
    """
    label = name or (str(source) if isinstance(source, (str, Path)) else "upload")
    if isinstance(source, (str, Path)):
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise ImageError(f"{label}: cannot read ({e.strerror or e})") from None
    else:
        data = bytes(source)
    if not data:
        raise ImageError(f"{label}: the file is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(
            f"{label}: {len(data) / 1e6:.1f} MB is over the {MAX_UPLOAD_BYTES // 2**20} MB limit"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(
                    f"{label}: {image.width}×{image.height} pixels is too large "
                    f"(limit {MAX_PIXELS // 1_000_000} megapixels)"
                )
            image.seek(0)  # the first frame of an animation
            image.load()
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{label}: not a readable image ({type(e).__name__})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{label}: damaged or truncated image ({e})") from None
    return _to_array(image)


def _to_array(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(image, dtype=np.float64)
        span = a.max() - a.min()
        a = (a - a.min()) / span * 255 if span else np.zeros_like(a)
        return a.astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        return np.asarray(image.convert("RGBA"))
    return np.asarray(image.convert("L"))


def _grey_ink(image) -> np.ndarray:
    """Ink intensity in [0, 1] (1 = full ink), whatever the polarity or transparency."""
    if isinstance(image, Image.Image):
        image = _to_array(image)
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or min(a.shape[:2]) < 1:
        raise ImageError(f"expected a grey, RGB or RGBA image, got an array of shape {a.shape}")
    a = a.astype(np.float32)
    if a.max() > 1.0 or a.dtype == np.uint8:
        a = a / 255.0
    if a.ndim == 2:
        grey, alpha = a, None
    else:
        grey = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        alpha = a[..., 3] if a.shape[2] == 4 else None
    if alpha is not None and alpha.min() < 1.0:
        # Transparent pixels are background: what is painted is the ink, whatever
        # its colour, so a white stroke and a black stroke on a clear canvas both read.
        opaque = alpha > 0.5
        stroke_is_light = grey[opaque].mean() >= 0.5 if opaque.any() else True
        ink = alpha * (grey if stroke_is_light else 1.0 - grey)
        return ink
    # Opaque: the background is whatever dominates the border.
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    ink = grey - background if background < 0.5 else background - grey
    span = ink.max()
    return np.clip(ink / span, 0, 1) if span > 0 else np.zeros_like(ink)


def prepare(image) -> np.ndarray:
    """The 28×28 image (float32, 0-255, white on black) a network trained on MNIST expects.

    Accepts a PIL image or an array (grey, RGB or RGBA; uint8 or floats in 0-1).
    Raises `BlankImageError` if there is no digit to read.
    """
    ink = _grey_ink(image)
    mask = ink > INK_THRESHOLD
    if mask.sum() < MIN_INK_PIXELS or ink.max() < INK_THRESHOLD:
        raise BlankImageError("the image is blank: draw or upload a digit")
    rows, cols = np.nonzero(mask)
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    crop = np.where(crop > INK_THRESHOLD * 0.5, crop, 0.0)  # drop faint background noise
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize(
        (new_w, new_h), Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    )
    digit = np.asarray(small, dtype=np.float32)
    frame = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    frame[top : top + new_h, left : left + new_w] = digit
    return _centre_by_mass(frame)


def _centre_by_mass(frame: np.ndarray) -> np.ndarray:
    total = frame.sum()
    ys, xs = np.indices(frame.shape)
    dy = int(round(13.5 - (ys * frame).sum() / total))
    dx = int(round(13.5 - (xs * frame).sum() / total))
    shifted = np.zeros_like(frame)
    src = frame[max(0, -dy) : 28 - max(0, dy), max(0, -dx) : 28 - max(0, dx)]
    shifted[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return shifted


def model_input(spec: ModelSpec, image28: np.ndarray) -> np.ndarray:
    """A prepared 28×28 image scaled and shaped as this network was trained (batch of 1)."""
    return prepare_inputs(spec, image28[np.newaxis])


_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_compile_lock = threading.Lock()


def _single_sample_function(model, spec: ModelSpec):
    """The model's forward pass as a `tf.function` for one sample, traced once per model.

    `model.predict` builds a dataset and a loop (tens of milliseconds for one sample) and
    an eager `model(x)` dispatches layer by layer (5-7 ms); a traced graph takes ~2 ms.
    """
    with _compile_lock:
        function = _compiled.get(model)
        if function is None:
            import tensorflow as tf

            function = tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec((1, *spec.input_shape), tf.float32)],
            )
            _compiled[model] = function
        return function


def predict_prepared(model, spec: ModelSpec, image28: np.ndarray) -> np.ndarray:
    """The ten probabilities for one prepared 28×28 image."""
    probabilities = _single_sample_function(model, spec)(model_input(spec, image28))
    return np.asarray(probabilities, dtype=np.float64)[0]


def predict(model, spec: ModelSpec, image) -> np.ndarray:
    """The ten probabilities for a raw drawing or photo."""
    return predict_prepared(model, spec, prepare(image))
