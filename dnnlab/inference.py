"""From a drawing or a photo to the ten probabilities, the way MNIST itself was made.

MNIST digits were scaled to fit a 20×20 box (aspect ratio kept, anti-aliased) and
centred by their centre of mass in a 28×28 frame, white ink on black. `prepare` does
the same to any image, so a network trained on MNIST can read it.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np
from PIL import Image

from dnnlab.architectures import ModelSpec, prepare_inputs
from dnnlab.images import BlankImageError, ImageError, read_image, to_array

__all__ = ["BlankImageError", "ImageError", "read_image"]  # re-exported until callers use `images`

INK_THRESHOLD = 0.2  # fraction of full contrast above which a pixel counts as ink
MIN_INK_PIXELS = 4
DIGIT_BOX = 20  # MNIST: each digit scaled to fit a 20×20 box
# MNIST's arrays put the centre of mass at row 14, column 14 (measured: 13.99 ± 0.29 on
# the training set), half a pixel past the geometric centre 13.5; using 13.5 costs the
# MLPs 2-3 points of accuracy on re-prepared MNIST digits.
MNIST_CENTRE = 14.0
WORK_SIDE = 80  # strokes are measured on a copy this size: a distance transform of 280×280 takes 10 ms
# Stroke width / digit size (see `stroke_ratio`): MNIST's own digits have a median of 0.13
# and 1st-99th percentiles of 0.07-0.24, so ratios in this range are left alone; outside
# it (a small digit drawn with a 20-pixel brush, a photo of a fine pen) they are brought
# to the nearer target.
STROKE_RATIO_RANGE = (0.05, 0.25)
STROKE_TARGETS = (0.1, 0.18)


def _grey_ink(image) -> np.ndarray:
    """Ink intensity in [0, 1] (1 = full ink), whatever the polarity or transparency."""
    if isinstance(image, Image.Image):
        image = to_array(image)
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

    Accepts a PIL image or an array (grey, RGB or RGBA; uint8 or floats in 0-1), any
    size, either polarity. Like MNIST: the digit is cropped to its ink, its strokes
    brought to MNIST's thickness, scaled to fit a 20×20 box (aspect ratio kept,
    anti-aliased) and shifted so its centre of mass falls where MNIST's do.
    Raises `BlankImageError` if there is no digit to read.
    """
    ink = _grey_ink(image)
    mask = ink > INK_THRESHOLD
    if mask.sum() < MIN_INK_PIXELS or ink.max() < INK_THRESHOLD:
        raise BlankImageError("the image is blank: draw or upload a digit")
    rows, cols = np.nonzero(mask)
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    crop = np.where(crop > INK_THRESHOLD * 0.5, crop, 0.0)  # drop faint background noise
    crop = _normalise_strokes(_shrink(crop, WORK_SIDE))
    h, w = crop.shape
    scale = DIGIT_BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    digit = _resize(crop, new_w, new_h)
    digit = np.clip(digit, 0.0, None)
    digit = np.clip(digit / digit.max(), 0.0, 1.0) * 255.0  # MNIST's strokes peak at 255
    frame = np.zeros((28, 28), dtype=np.float32)
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    frame[top : top + new_h, left : left + new_w] = digit
    return _centre_by_mass(frame)


def _resize(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample a float image (anti-aliased when shrinking)."""
    filt = (
        Image.Resampling.LANCZOS if width < a.shape[1] or height < a.shape[0] else Image.Resampling.BILINEAR
    )
    image = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), filt), dtype=np.float32)


def _shrink(crop: np.ndarray, side: int) -> np.ndarray:
    """The crop reduced so its longer side is at most `side` pixels (aspect kept)."""
    h, w = crop.shape
    if max(h, w) <= side:
        return crop
    scale = side / max(h, w)
    small = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32), mode="F")
    small = small.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32)


def stroke_ratio(ink: np.ndarray) -> float:
    """Stroke width over the digit's longer side (MNIST digits: median 0.13).

    For a long thin shape, area ≈ length × width and its outline ≈ 2 × length, so
    width ≈ 2 × area / outline.
    """
    from scipy import ndimage

    mask = ink > 0.5
    if not mask.any():
        return 0.0
    rows, cols = np.nonzero(mask)
    side = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    outline = (mask & ~ndimage.binary_erosion(mask)).sum()
    return float(2 * mask.sum() / outline / side)


def _normalise_strokes(crop: np.ndarray) -> np.ndarray:
    """Strokes far thicker or thinner than MNIST's for their digit's size, made MNIST-like.

    Thinning and thickening work on the distance to the stroke's edge, so they cost one
    distance transform of the (at most 80×80) crop.
    """
    from scipy import ndimage

    ratio = stroke_ratio(crop)
    if STROKE_RATIO_RANGE[0] <= ratio <= STROKE_RATIO_RANGE[1] or ratio == 0.0:
        return crop
    side = max(crop.shape)
    target = STROKE_TARGETS[0] if ratio < STROKE_RATIO_RANGE[0] else STROKE_TARGETS[1]
    change = abs(ratio - target) * side / 2  # pixels to take off or add on each side
    mask = crop > 0.5
    if ratio > target:
        inside = ndimage.distance_transform_edt(mask)
        thinned = np.clip(inside - change + 0.5, 0.0, 1.0).astype(np.float32)
        # A shape that thinning would mostly erase (a blob, not strokes) stays as it is.
        return thinned if thinned.sum() > 0.2 * mask.sum() else crop
    pad = int(np.ceil(change)) + 1
    padded = np.pad(crop, pad)
    outside = ndimage.distance_transform_edt(~(padded > 0.5))
    return np.maximum(padded, np.clip(change + 0.5 - outside, 0.0, 1.0)).astype(np.float32)


def _centre_by_mass(frame: np.ndarray) -> np.ndarray:
    """Shift (by whole pixels, like MNIST) so the centre of mass lands on MNIST_CENTRE."""
    total = frame.sum()
    ys, xs = np.indices(frame.shape)
    dy = int(round(MNIST_CENTRE - (ys * frame).sum() / total))
    dx = int(round(MNIST_CENTRE - (xs * frame).sum() / total))
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


@dataclass(frozen=True)
class Reading:
    """What a network makes of one image: the 28×28 it saw and its ten probabilities."""

    image28: np.ndarray
    probabilities: np.ndarray

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities))


def read_digit(model, spec: ModelSpec, image) -> Reading:
    """Prepare a raw drawing or photo and classify it (raises `BlankImageError` if blank)."""
    image28 = prepare(image)
    return Reading(image28, predict_prepared(model, spec, image28))


def enlarged(image28: np.ndarray, scale: int = 8) -> np.ndarray:
    """The 28×28 image as uint8, each pixel a `scale`×`scale` block, so pixels show."""
    block = np.ones((scale, scale), dtype=np.uint8)
    return np.kron(np.clip(image28, 0, 255).astype(np.uint8), block)
