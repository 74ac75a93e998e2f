"""A real room for the tests that learn from it: MNIST's test digits sent as drawings
through the real store (a SQLite file), as phones send them."""

from __future__ import annotations

import numpy as np

from dnnlab import room, room_analysis
from dnnlab.room import Drawing, NetworkReading, Store


def fill_room(store: Store, images: np.ndarray, labels: np.ndarray) -> str:
    """Open a room and send each image as a drawing meaning its label; the room's code."""
    code = store.open_room().code
    for image, label in zip(images, labels, strict=True):
        readings = (NetworkReading("cnn", int(label), 0.9),)
        drawing = Drawing(room.new_token(), int(label), image, room_analysis.canvas_png(image), readings)
        assert store.add(code, drawing)
    return code


def stratified_digits(x: np.ndarray, y: np.ndarray, per_digit: int, skip: int = 0):
    """`per_digit` images of each digit (after the first `skip` of each), digit by digit interleaved."""
    picks = [np.flatnonzero(y == d)[skip : skip + per_digit] for d in range(10)]
    order = np.stack(picks, axis=1).ravel()
    return x[order], y[order]
