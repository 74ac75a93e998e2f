"""Invariance: what shifting, rotating, scaling or thickening a digit does to a network.

`transform` changes one drawing (the Draw page's sliders); `accuracy_curves` measures a
network's test-set accuracy as the digits are shifted sideways or rotated, the talk's
argument for convolution and pooling (a CNN reuses its filters wherever the stroke is).
Everything is scipy.ndimage on 28×28 images with MNIST's 0-255 values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from dnnlab.architectures import prepare_inputs
from dnnlab.probes import Probe

SIDE = 28
CENTRE = (SIDE - 1) / 2
MAX_SHIFT = 6  # pixels
MAX_ANGLE = 45  # degrees
SCALE_RANGE = (0.6, 1.4)
MAX_THICKEN = 3  # pixels of dilation
CURVE_SHIFTS = tuple(range(-MAX_SHIFT, MAX_SHIFT + 1))
CURVE_ANGLES = tuple(range(-MAX_ANGLE, MAX_ANGLE + 1, 15))
CURVE_IMAGES = 1000  # test images per point: ±1.5 points of accuracy, and ≤ 2 s per model


def _affine(images: np.ndarray, angle: float, scale: float) -> np.ndarray:
    """Rotate by `angle` degrees (anticlockwise) and scale about the centre, for (n, 28, 28).

    One 2-D transformation per image: a 3-D one over the stack would interpolate between
    neighbouring images too, and takes four times as long.
    """
    if angle == 0 and scale == 1.0:
        return np.array(images, np.float32)
    a = np.deg2rad(angle)
    # affine_transform maps output coordinates to input ones: the inverse transformation.
    inverse = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) / scale
    offset = CENTRE - inverse @ np.array([CENTRE, CENTRE])
    return np.stack([ndimage.affine_transform(im, inverse, offset, order=1, cval=0.0) for im in images])


def shifted(images: np.ndarray, dx: int, dy: int = 0) -> np.ndarray:
    """(n, 28, 28) images moved `dx` pixels right and `dy` down, background filling in."""
    images = np.asarray(images, np.float32)
    out = np.zeros_like(images)
    rows, cols = images.shape[1:]
    out[:, max(dy, 0) : rows + min(dy, 0), max(dx, 0) : cols + min(dx, 0)] = images[
        :, max(-dy, 0) : rows + min(-dy, 0), max(-dx, 0) : cols + min(-dx, 0)
    ]
    return out


def rotated(images: np.ndarray, angle: float) -> np.ndarray:
    """(n, 28, 28) images rotated `angle` degrees anticlockwise about their centre."""
    return _affine(np.asarray(images, np.float32), angle, 1.0)


def transform(
    image28: np.ndarray, dx: int = 0, dy: int = 0, angle: float = 0.0, scale: float = 1.0, thicken: int = 0
) -> np.ndarray:
    """One 28×28 drawing thickened by `thicken` pixels, scaled, rotated, then shifted."""
    image = np.asarray(image28, np.float32)
    if thicken:
        disk = np.hypot(*np.mgrid[-thicken : thicken + 1, -thicken : thicken + 1]) <= thicken
        image = ndimage.grey_dilation(image, footprint=disk)
    if angle or scale != 1.0:
        image = _affine(image[np.newaxis], angle, scale)[0]
    if dx or dy:
        image = shifted(image[np.newaxis], dx, dy)[0]
    return np.clip(image, 0.0, 255.0)


def accuracy(probe: Probe, images: np.ndarray, labels: np.ndarray) -> float:
    probabilities = probe.predict(prepare_inputs(probe.spec, images))
    return float(np.mean(np.argmax(probabilities, axis=1) == labels))


def accuracy_curves(
    probe: Probe,
    images: np.ndarray,
    labels: np.ndarray,
    shifts=CURVE_SHIFTS,
    angles=CURVE_ANGLES,
) -> pd.DataFrame:
    """Test accuracy against a sideways shift (pixels) and a rotation (degrees).

    Rows: change ("shift (px)" or "rotation (°)"), amount, accuracy.
    """
    images = np.asarray(images, np.float32)
    rows = [("shift (px)", dx, accuracy(probe, shifted(images, dx), labels)) for dx in shifts]
    rows += [("rotation (°)", angle, accuracy(probe, rotated(images, angle), labels)) for angle in angles]
    return pd.DataFrame(rows, columns=["change", "amount", "accuracy"])
