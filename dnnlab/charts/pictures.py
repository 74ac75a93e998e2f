"""Pictures from numbers (RGB uint8 arrays) and their PNG data URLs: weights, activations,
feature maps, digits, RDMs."""

from __future__ import annotations

import base64
import functools
import io
import math
from dataclasses import dataclass, replace

import numpy as np
from matplotlib import colormaps
from PIL import Image
from scipy.stats import rankdata

from dnnlab import inspection
from dnnlab.charts.style import BACKGROUND, DIVERGING, GREYS

# --- pictures from numbers ------------------------------------------------------------


def colourise(values: np.ndarray, vmin: float, vmax: float, diverging: bool) -> np.ndarray:
    """Map values to uint8 RGB with a colour map; NaN becomes the white background."""
    values = np.asarray(values, dtype=np.float32)
    span = vmax - vmin if vmax > vmin else 1.0
    t = np.clip((np.nan_to_num(values, nan=vmin) - vmin) / span, 0.0, 1.0)
    cmap = DIVERGING if diverging else GREYS
    # The colour map's own lookup (N entries, t·N rounded down), without its per-call
    # overhead: calling it was 7% of a busy server's time per drawing (live layers).
    rgb = _lookup(cmap.name)[np.minimum((t * cmap.N).astype(np.intp), cmap.N - 1)]
    rgb[np.isnan(values)] = BACKGROUND
    return rgb


@functools.cache
def _lookup(name: str) -> np.ndarray:
    """A colour map's N colours as uint8 RGB rows."""
    cmap = colormaps[name]
    return cmap(np.arange(cmap.N), bytes=True)[:, :3]


def montage(images: np.ndarray, columns: int, pad: int = 1) -> np.ndarray:
    """Tile a stack of images (n, h, w) into a grid with NaN gutters."""
    n, h, w = images.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad), np.nan, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = image
    return out


def enlarge(rgb: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour upscaling, so pixels stay crisp squares in the browser."""
    return np.repeat(np.repeat(rgb, factor, axis=0), factor, axis=1)


@dataclass(frozen=True)
class Picture:
    """One figure for the page: an RGB image or an Altair chart, with a title and caption."""

    title: str
    caption: str
    image: np.ndarray | None = None
    chart: object = None
    scale: int = 1  # screen pixels per image pixel, when the browser enlarges it (live layers)


def picture(title, stack, columns, scale, caption, pad=1, diverging=None) -> Picture:
    """A stack of 2-D arrays as one enlarged colour grid, its colour key in the caption."""
    lo, hi = float(np.min(stack)), float(np.max(stack))
    if diverging is None:
        diverging = lo < 0
    if diverging:
        limit = max(abs(lo), abs(hi)) or 1.0
        vmin, vmax = -limit, limit
        caption += f" Blue negative, red positive, white 0 (range ±{limit:.3g})."
    else:
        vmin, vmax = 0.0, hi or 1.0
        caption += f" Black 0, white {vmax:.3g}."
    grid = montage(stack, columns, pad)
    return Picture(title, caption, image=enlarge(colourise(grid, vmin, vmax, diverging), scale))


def shape_label(shape: tuple) -> str:
    if len(shape) == 3:
        h, w, c = shape
        return f"{c}@{h}×{w}"
    return "×".join(str(d) for d in shape)


# --- first-layer weights, activations ---------------------------------------------------


def weight_pictures(model) -> list[Picture]:
    """The first layer's receptive fields (MLP) or every convolution's filters (CNN)."""
    convs = inspection.conv_filters(model)
    if not convs:
        images = inspection.dense_weight_images(model)
        name = next(layer.name for layer in model.layers if type(layer).__name__ == "Dense")
        return [
            picture(
                f"{name}: the 784 weights of each of its {len(images)} units",
                images,
                columns=8,
                scale=4,
                caption="Each square is one unit's weights on the 28×28 pixels, its receptive field.",
                pad=2,
                diverging=True,
            )
        ]
    pictures = []
    for name, kernels in convs:
        filters, channels, k, _ = kernels.shape
        if channels == 1:
            caption = f"The {filters} {k}×{k} filters, one per feature map, left to right."
            stack, columns = kernels[:, 0], filters
        else:
            caption = (
                f"One row per filter ({filters}), one column per input channel ({channels}): "
                f"filter f sums the {k}×{k} patches of every input channel, weighted as row f shows."
            )
            stack, columns = kernels.reshape(-1, k, k), channels
        pictures.append(
            picture(f"{name}: {filters} filters of {k}×{k}×{channels}", stack, columns, 16, caption, 1, True)
        )
    return pictures


def input_picture(image28: np.ndarray, scale: int = 4) -> np.ndarray:
    """A 28×28 image (0-255) as an enlarged RGB picture, white ink on black."""
    return enlarge(colourise(np.asarray(image28, dtype=np.float32), 0.0, 255.0, diverging=False), scale)


# --- inside the network, on the Draw page -------------------------------------------------

LIVE_MAP_PX = 56  # a feature map's side on screen: 26×26 maps at 2×, 5×5 at 11×


def live_layer_pictures(layers: list[tuple[str, str, np.ndarray]]) -> list[Picture]:
    """One picture per hidden layer for one drawing, cheap enough for every stroke: feature
    maps as a grid (one cell per channel), dense units as a grid of coloured cells.

    Each picture is one pixel per value, with the `scale` the browser enlarges it by (crisp,
    with CSS `image-rendering: pixelated`): encoding the CNN's four enlarged pictures as PNG
    took 8.8 ms per stroke at load 2.7, the server's largest cost per drawing.

    Flatten (the pooled maps again) and the output (the probability chart) are left out.
    """
    pictures = []
    for name, kind, out in layers[:-1]:
        if kind == "Flatten" or out.ndim not in (1, 3):
            continue
        if out.ndim == 3:
            maps = np.transpose(out, (2, 0, 1))
            scale = max(2, LIVE_MAP_PX // out.shape[0])
            caption = f"{name}: {maps.shape[0]} maps of {out.shape[0]}×{out.shape[1]}."
            shown = picture(f"{name} ({kind})", maps, 4, 1, caption, pad=1)
        else:
            columns = 8 if out.size <= 64 else 16
            rows = -(-out.size // columns)
            cells = np.full(rows * columns, np.nan, np.float32)
            cells[: out.size] = out
            grid = cells.reshape(1, rows, columns)
            caption = f"{name}: {out.size} units, one cell each, row by row."
            scale, shown = 20, picture(f"{name} ({kind})", grid, 1, 1, caption, pad=0)
        pictures.append(replace(shown, scale=scale))
    return pictures


def digit_pictures(images: np.ndarray, scale: int = 3) -> list[np.ndarray]:
    """Each 28×28 image (0-255) as its own enlarged picture, white ink on black."""
    return [input_picture(image, scale) for image in images]


def top_image_pictures(images: np.ndarray, top: np.ndarray, scale: int = 2) -> list[np.ndarray]:
    """For each unit, its top images (indices into `images`) as one 3×3 grid."""
    columns = math.isqrt(top.shape[1]) or 1
    return [
        enlarge(colourise(montage(images[indices].astype(np.float32), columns), 0.0, 255.0, False), scale)
        for indices in top
    ]


def png_data_url(rgb: np.ndarray) -> str:
    """An RGB (or grey) picture as a PNG `data:` URL, for pictures that change with every stroke: the
    browser shows it from the page's own message instead of fetching it from the server's
    media store (a request that waits behind every other on a busy server)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def rdm_image(matrix: np.ndarray, colormap: str = "viridis") -> np.ndarray:
    """An RDM as an RGB image (uint8), coloured by percentile within the RDM.

    Percentiles make RDMs of different layers comparable at a glance: the colour shows
    which pairs are relatively dissimilar, whatever the range of the values. Tied values
    share a colour.
    """
    n = len(matrix)
    upper = np.triu_indices(n, 1)
    square = np.zeros((n, n))
    if len(upper[0]) > 1:
        ranks = rankdata(matrix[upper], method="average")
        square[upper] = (ranks - ranks.min()) / max(ranks.max() - ranks.min(), 1e-12)
        square += square.T
    return (colormaps[colormap](square)[..., :3] * 255).astype(np.uint8)
