"""From a drawing or a photo to the 28×28 image a network trained on MNIST reads.

MNIST digits were scaled to fit a 20×20 box (aspect ratio kept, anti-aliased) and
centred by their centre of mass in a 28×28 frame, white ink on black. `prepare` does
the same to any image: a drawing from the canvas, or a photo of a digit on paper.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from dnnlab.images import BlankImageError, ImageError, to_array

INK_THRESHOLD = 0.2  # fraction of full contrast above which a pixel counts as ink
DIGIT_BOX = 20  # MNIST: each digit scaled to fit a 20×20 box
# MNIST's arrays put the centre of mass at row 14, column 14 (measured: 13.99 ± 0.29 on
# the training set), half a pixel past the geometric centre 13.5; using 13.5 costs the
# MLPs 2-3 points of accuracy on re-prepared MNIST digits.
MNIST_CENTRE = 14.0
WORK_SIDE = 80  # strokes are measured on a copy this size: a distance transform of 280×280 takes 10 ms
# Stroke width / digit size (see `stroke_ratio`) of MNIST's own training digits: the 1st
# and 99th percentiles and the median, as `mnist_stroke_range` derives them (a test
# re-derives them). A drawing or photo outside this range (a thin pen, a small digit drawn
# with a 20-pixel brush) has its strokes brought to MNIST's median; inside it, as 98% of
# MNIST's own digits are, they are left alone. (The 5th-95th percentiles would alter 10% of
# real digits and cost the ReLU MLP a point on re-prepared MNIST test digits.)
STROKE_RATIO_RANGE = (0.100, 0.258)
STROKE_RATIO_MEDIAN = 0.142
# The paper's brightness is fitted on a copy this size, in this many rounds, leaving out
# pixels further than this (or 3 median deviations) on the ink's side of the fit.
BACKGROUND_SIDE = 32
BACKGROUND_FITS = 4
BACKGROUND_TOLERANCE = 0.05


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
    # Opaque: the polarity is whatever dominates the border; the background (paper under
    # uneven light, say) is estimated at a large scale and taken away. Paper reflects a
    # share of the light that falls on it, so dark ink is read as the share missing.
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    light_ink = float(np.median(border)) < 0.5
    # A border of one exact shade is a digital canvas, not paper under light: its flat
    # background needs no fit (the fit was a seventh of a busy server's time per drawing).
    flat = border.min() == border.max()
    background = border[0] if flat else _background(grey, light_ink)
    ink = grey - background if light_ink else 1.0 - grey / np.maximum(background, 1e-3)
    span = ink.max()
    return np.clip(ink / span, 0, 1) if span > 0 else np.zeros_like(ink)


def _background(grey: np.ndarray, light_ink: bool) -> np.ndarray:
    """The brightness the image would have without its strokes: a smooth surface.

    Light falls on paper smoothly (a gradient, a vignette), so the background is a
    quadratic surface in x and y, fitted by least squares to a reduced copy, then refitted
    a few times without the pixels that lie well on the ink's side of it (the strokes).
    On the canvas's black it stays within 0.2% of black. Costs ~0.5 ms for 280×280.
    """
    h, w = grey.shape
    scale = min(1.0, BACKGROUND_SIDE / max(h, w))
    small = _resize_box(grey, max(1, round(w * scale)), max(1, round(h * scale)))
    rows, cols = np.indices(small.shape, dtype=np.float64)
    terms = _quadratic_terms(rows / max(small.shape[0] - 1, 1), cols / max(small.shape[1] - 1, 1))
    values, keep = small.ravel().astype(np.float64), np.ones(small.size, bool)
    sign = 1.0 if light_ink else -1.0  # which way of the background the ink lies
    for _ in range(BACKGROUND_FITS):
        # Least squares by its normal equations (six unknowns); a hair of ridge keeps them
        # solvable however few pixels are left.
        fit = terms[keep]
        coefficients = np.linalg.solve(fit.T @ fit + 1e-9 * np.eye(6), fit.T @ values[keep])
        residual = sign * (values - terms @ coefficients)
        spread = np.median(np.abs(residual[keep] - np.median(residual[keep])))
        keep = residual < max(3 * spread, BACKGROUND_TOLERANCE)
    c0, cy, cx, cyy, cxy, cxx = coefficients.astype(np.float32)
    y, x = np.linspace(0, 1, h, dtype=np.float32)[:, None], np.linspace(0, 1, w, dtype=np.float32)[None, :]
    return (c0 + y * (cy + cyy * y)) + x * (cx + cxx * x) + cxy * (y * x)


def _quadratic_terms(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """1, y, x, y², xy, x² at every point, one row per point."""
    rows, cols = rows.ravel(), cols.ravel()
    return np.stack([np.ones_like(rows), rows, cols, rows**2, rows * cols, cols**2], axis=-1)


def prepare(image) -> np.ndarray:
    """The 28×28 image (float32, 0-255, white on black) a network trained on MNIST expects.

    Accepts a PIL image or an array (grey, RGB or RGBA; uint8 or floats in 0-1), any
    size, either polarity. Like MNIST: the digit is cropped to its ink, its strokes
    brought to MNIST's thickness, scaled to fit a 20×20 box (aspect ratio kept,
    anti-aliased) and shifted so its centre of mass falls where MNIST's do.
    Raises `BlankImageError` if there is no digit to read.
    """
    ink = _grey_ink(image)
    top, bottom, left, right = _ink_box(ink > INK_THRESHOLD)
    crop = ink[top:bottom, left:right]
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


def _ink_box(strong: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) around the ink: strong pixels that fill some 2×2 square,
    so a photo's stray noisy pixels neither make a digit nor stretch its box. (A 2×2
    erosion by slicing: `scipy.ndimage.binary_opening` took a fifth of `prepare`'s time.)"""
    squares = strong[:-1, :-1] & strong[1:, :-1] & strong[:-1, 1:] & strong[1:, 1:]
    rows, cols = np.flatnonzero(squares.any(axis=1)), np.flatnonzero(squares.any(axis=0))
    if not len(rows):
        raise BlankImageError("the image is blank: draw or upload a digit")
    return rows[0], rows[-1] + 2, cols[0], cols[-1] + 2


def _resize(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample a float image (anti-aliased when shrinking)."""
    filt = (
        Image.Resampling.LANCZOS if width < a.shape[1] or height < a.shape[0] else Image.Resampling.BILINEAR
    )
    image = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), filt), dtype=np.float32)


def _resize_box(a: np.ndarray, width: int, height: int) -> np.ndarray:
    """A float image reduced by averaging the pixels each new pixel covers."""
    image = Image.fromarray(np.ascontiguousarray(a, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.BOX), dtype=np.float32)


def _shrink(crop: np.ndarray, side: int) -> np.ndarray:
    """The crop reduced so its longer side is at most `side` pixels (aspect kept)."""
    h, w = crop.shape
    if max(h, w) <= side:
        return crop
    scale = side / max(h, w)
    return _resize_box(crop, max(1, round(w * scale)), max(1, round(h * scale)))


def stroke_ratio(ink: np.ndarray) -> float:
    """Stroke width over the digit's longer side (MNIST digits: median 0.14).

    For a long thin shape, area ≈ length × width and its outline ≈ 2 × length, so
    width ≈ 2 × area / outline.
    """
    mask = ink > 0.5
    if not mask.any():
        return 0.0
    rows, cols = np.nonzero(mask)
    side = max(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    outline = (mask & ~ndimage.binary_erosion(mask)).sum()
    return float(2 * mask.sum() / outline / side)


def mnist_stroke_range(images: np.ndarray, percentiles=(1, 50, 99)) -> tuple[float, ...]:
    """Percentiles of `stroke_ratio` over MNIST-style uint8 digits (e.g. the training set):
    how `STROKE_RATIO_RANGE` and `STROKE_RATIO_MEDIAN` were derived."""
    ratios = [stroke_ratio(np.asarray(image, dtype=np.float32) / 255.0) for image in images]
    return tuple(float(p) for p in np.percentile(ratios, percentiles))


def _normalise_strokes(crop: np.ndarray) -> np.ndarray:
    """Strokes thicker or thinner than MNIST's for their digit's size, made MNIST-like.

    Thinning and thickening work on the distance to the stroke's edge, so they cost one
    distance transform of the (at most 80×80) crop.
    """
    ratio = stroke_ratio(crop)
    if STROKE_RATIO_RANGE[0] <= ratio <= STROKE_RATIO_RANGE[1] or ratio == 0.0:
        return crop
    side = max(crop.shape)
    change = abs(ratio - STROKE_RATIO_MEDIAN) * side / 2  # pixels to take off or add on each side
    mask = crop > 0.5
    if ratio > STROKE_RATIO_MEDIAN:
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
    row, col = ndimage.center_of_mass(frame)
    offset = (round(MNIST_CENTRE - row), round(MNIST_CENTRE - col))
    return ndimage.shift(frame, offset, order=0, mode="constant", cval=0.0)
