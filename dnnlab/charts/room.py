"""The projector's pictures of the room: its staircase, its confusion matrices, its wall.

Pages only place what these return (Altair charts, RGB uint8 arrays).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

RIGHT_INK = np.array([255, 255, 255], np.float32)  # read as meant: white, as on the canvas
WRONG_INK = np.array([255, 99, 71], np.float32)  # read otherwise: tomato, visible from the back
GUTTER = np.array([60, 60, 60], np.uint8)


def staircase_chart(table: pd.DataFrame) -> alt.LayerChart:
    """The room's accuracy per network beside its accuracy on MNIST's test set, labelled.

    `table`: network, accuracy (on the room), mnist (test accuracy or NaN), in talk order.
    """
    order = list(table["network"])
    long = table.melt(id_vars="network", value_vars=["accuracy", "mnist"], var_name="on", value_name="value")
    long["on"] = long["on"].map({"accuracy": "this room's drawings", "mnist": "MNIST test set"})
    long = long.dropna(subset=["value"])
    base = alt.Chart(long).encode(
        x=alt.X("network:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("on:N", sort=["this room's drawings", "MNIST test set"]),
        y=alt.Y("value:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "on:N",
            title=None,
            scale=alt.Scale(domain=["this room's drawings", "MNIST test set"], range=["#e4572e", "#9aa5b1"]),
            legend=alt.Legend(orient="top"),
        ),
        tooltip=["network:N", "on:N", alt.Tooltip("value:Q", format=".1%")],
    )
    labels = base.mark_text(dy=-8, fontSize=14).encode(text=alt.Text("value:Q", format=".0%"))
    return (bars + labels).properties(height=320)


def confusion_chart(matrix: np.ndarray, network: str) -> alt.LayerChart:
    """Digit meant (rows) against digit read (columns), the counts written in each cell."""
    meant, read = np.indices(matrix.shape)
    frame = pd.DataFrame({"meant": meant.ravel(), "read": read.ravel(), "count": matrix.ravel()})
    base = alt.Chart(frame).encode(
        x=alt.X("read:O", title=f"{network} read", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("meant:O", title="student meant"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("count:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["meant:O", "read:O", "count:Q"],
    )
    counts = (
        base.transform_filter("datum.count > 0")
        .mark_text(fontSize=12)
        .encode(
            text="count:Q",
            color=alt.condition(
                f"datum.count > {max(1, matrix.max()) / 2}", alt.value("white"), alt.value("black")
            ),
        )
    )
    return (cells + counts).properties(title=network, width=260, height=260)


def thumbnails(images: np.ndarray, wrong: np.ndarray, columns: int = 16, scale: int = 2) -> np.ndarray:
    """28×28 drawings side by side as one RGB picture: white ink where the network read
    what the student meant, tomato where it read something else."""
    images = np.asarray(images, np.uint8).reshape(-1, 28, 28)
    n = len(images)
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    ink = np.where(np.asarray(wrong, bool).reshape(-1, 1, 1, 1), WRONG_INK, RIGHT_INK)
    tiles = np.empty((rows * columns, 29, 29, 3), np.uint8)  # each with a gutter right and below
    tiles[:] = GUTTER
    tiles[:n, :28, :28] = (images[..., None].astype(np.float32) / 255.0 * ink).astype(np.uint8)
    grid = (
        tiles.reshape(rows, columns, 29, 29, 3).transpose(0, 2, 1, 3, 4).reshape(rows * 29, columns * 29, 3)
    )
    grid = grid[:-1, :-1]  # no gutter after the last row and column
    return np.repeat(np.repeat(grid, scale, axis=0), scale, axis=1)
