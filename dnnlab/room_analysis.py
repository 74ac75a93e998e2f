"""What the room's drawings say: the networks' readings of a phone's drawing, and for the
projector the room's own staircase, confusion matrices, the wall grouped by reading, the
drawings every network gets wrong; and the room's digits exported in MNIST's format."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from dnnlab import inference, preprocess
from dnnlab.config import ModelSpec
from dnnlab.errors import confusion_matrix
from dnnlab.room import TALK_NETWORKS, Drawing, NetworkReading


def read_with_networks(
    networks: Mapping[str, tuple[object, ModelSpec]], image: np.ndarray
) -> tuple[np.ndarray, tuple[NetworkReading, ...]]:
    """The 28×28 image (uint8) every network sees, and what each reads in it.

    The drawing is prepared once and each network runs its traced single-sample forward
    pass (`inference.predict_prepared`), a few milliseconds each. Raises
    `images.BlankImageError` when nothing is drawn.
    """
    image28 = preprocess.prepare(image)
    readings = []
    for name, (model, spec) in networks.items():
        probabilities = inference.predict_prepared(model, spec, image28)
        digit = int(np.argmax(probabilities))
        readings.append(NetworkReading(name, digit, float(np.clip(probabilities[digit], 0.0, 1.0))))
    return np.clip(np.rint(image28), 0, 255).astype(np.uint8), tuple(readings)


def warm_up(networks: Mapping[str, tuple[object, ModelSpec]]) -> None:
    """Trace each network's single-sample forward pass before the first drawing needs it."""
    for model, spec in networks.values():
        inference.predict_prepared(model, spec, np.zeros((28, 28), np.float32))


def canvas_png(image: np.ndarray) -> bytes:
    """The canvas drawing as a PNG (fast compression: it is a few kB either way)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def networks_in(drawings: Sequence[Drawing]) -> list[str]:
    """The networks that read the room's drawings, in the talk's order."""
    seen = {r.network for d in drawings for r in d.readings}
    return [n for n in TALK_NETWORKS if n in seen]


def _meant_and_read(drawings: Sequence[Drawing], network: str) -> list[tuple[int, int]]:
    return [(d.intended, r.digit) for d in drawings for r in d.readings if r.network == network]


def accuracy(drawings: Sequence[Drawing]) -> pd.DataFrame:
    """Per network: how many of the room's drawings it read as the student meant them."""
    rows = []
    for network in networks_in(drawings):
        pairs = _meant_and_read(drawings, network)
        right = sum(meant == read for meant, read in pairs)
        rows.append(
            {"network": network, "right": right, "drawings": len(pairs), "accuracy": right / len(pairs)}
        )
    return pd.DataFrame(rows, columns=["network", "right", "drawings", "accuracy"])


def confusion(drawings: Sequence[Drawing], network: str) -> np.ndarray:
    """Counts of digit meant (rows) against digit read (columns) for one network."""
    pairs = np.array(_meant_and_read(drawings, network), dtype=np.int64).reshape(-1, 2)
    return confusion_matrix(pairs[:, 0], pairs[:, 1])


def wall(drawings: Sequence[Drawing], network: str) -> dict[int, list[Drawing]]:
    """The drawings grouped by what this network read, digit by digit (absent digits left out)."""
    groups: dict[int, list[Drawing]] = {}
    for d in drawings:
        reading = d.reading(network)
        if reading is not None:
            groups.setdefault(reading.digit, []).append(d)
    return dict(sorted(groups.items()))


def missed_by_all(drawings: Sequence[Drawing]) -> list[Drawing]:
    """The drawings no network read as the student meant: a human's 4 no machine sees."""
    return [d for d in drawings if d.readings and all(r.digit != d.intended for r in d.readings)]


def mnist_arrays(
    drawings: Sequence[Drawing], test_fraction: float = 0.5, seed: int = 0
) -> dict[str, np.ndarray]:
    """The room's digits as MNIST's four arrays (x uint8 n×28×28, y uint8 n), split at
    random into training and test drawings."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError("the test fraction is between 0 and 1")
    images = np.array([d.image28 for d in drawings], dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.array([d.intended for d in drawings], dtype=np.uint8)
    order = np.random.default_rng(seed).permutation(len(drawings))
    cut = len(drawings) - int(round(test_fraction * len(drawings)))
    train, test = order[:cut], order[cut:]
    return {
        "x_train": images[train],
        "y_train": labels[train],
        "x_test": images[test],
        "y_test": labels[test],
    }


def mnist_npz(drawings: Sequence[Drawing], test_fraction: float = 0.5, seed: int = 0) -> bytes:
    """`mnist_arrays` as the bytes of an `.npz`, as Keras's `mnist.npz` is laid out."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **mnist_arrays(drawings, test_fraction, seed))
    return buffer.getvalue()
