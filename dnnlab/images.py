"""Reading an image from outside (an upload, a file given to the CLI, the canvas's drawing).

One bounded path for all of them: the encoded size is checked first, then the width and
height from the file's header (Pillow reads only the header in `Image.open`), and only
then is the image decoded. Only the common raster formats are accepted: Pillow can also
open formats whose decoders run external programs (EPS) or are rarely exercised.
Large photos are decoded at a reduced size (JPEG's decoder scales by 1/2-1/8 for free),
so the array handed on is at most `WORK_SIDE` pixels on its longer side.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 25_000_000  # 5000×5000; larger files are decompression bombs, not digits
# Our canvas is 280×280 CSS pixels; a browser on a high-density screen may send it at 2-3×.
MAX_CANVAS_SIDE = 1024
MAX_CANVAS_BYTES = 4 * MAX_CANVAS_SIDE**2 + 64 * 1024  # raw RGBA at the largest side, plus PNG framing
# `prepare` crops to the ink and works on at most 80×80 pixels; 2048 keeps a small digit
# in a large photo at more than that, and bounds the decoded array to 16 MB (RGBA).
WORK_SIDE = 2048
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageError(ValueError):
    """An image that cannot be read or holds no digit; the message says which."""


class BlankImageError(ImageError):
    pass


def read_image(
    source: bytes | str | Path,
    *,
    name: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """Decode an uploaded file (bytes or a path) into an RGBA or grey uint8 array.

    Refuses empty, oversized, truncated and non-image files with an `ImageError` that
    names the file. Animated images give their first frame; 16-bit and CMYK images are
    converted.
    """
    label = name or (str(source) if isinstance(source, (str, Path)) else "upload")
    data = _bounded_bytes(source, label, max_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            if image.width * image.height > max_pixels:
                raise ImageError(
                    f"{label}: {image.width}×{image.height} pixels is too large "
                    f"(limit {max_pixels / 1e6:g} megapixels)"
                )
            image.seek(0)  # the first frame of an animation
            if max(image.size) > WORK_SIDE and image.format == "JPEG":
                image.draft(image.mode, _within(image.size, WORK_SIDE))
            image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow refuses huge images in `open`, before our own size check can run.
        raise ImageError(
            f"{label}: too large to be a digit (limit {max_pixels / 1e6:g} megapixels)"
        ) from None
    except UnidentifiedImageError as e:
        raise ImageError(f"{label}: not a readable image ({type(e).__name__})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"{label}: damaged or truncated image ({e})") from None
    if max(image.size) > WORK_SIDE:
        image = _reduced(image)
    return to_array(image)


def read_canvas_png(data: bytes, *, name: str = "the drawing") -> np.ndarray:
    """The canvas's drawing (PNG bytes, as the browser sent them), bounded like an upload.

    The browser is not trusted to send what our canvas would: the byte count and the
    width and height in the PNG's header are checked against a canvas's before decoding.
    """
    if len(data) > MAX_CANVAS_BYTES:
        raise ImageError(f"{name}: {len(data) / 1e6:.1f} MB is more than a canvas drawing can be")
    width, height = png_size(data)
    if max(width, height) > MAX_CANVAS_SIDE:
        raise ImageError(
            f"{name}: {width}×{height} pixels is larger than a canvas drawing "
            f"(limit {MAX_CANVAS_SIDE}×{MAX_CANVAS_SIDE})"
        )
    return read_image(data, name=name, max_bytes=MAX_CANVAS_BYTES, max_pixels=MAX_CANVAS_SIDE**2)


def read_data_url(url: str, *, name: str = "the drawing") -> np.ndarray:
    """A `data:image/png;base64,…` URL, its length checked before it is decoded."""
    if len(url) > MAX_CANVAS_BYTES * 4 // 3 + 64:
        raise ImageError(f"{name}: {len(url) / 1e6:.1f} MB is more than a canvas drawing can be")
    header, sep, encoded = url.partition(",")
    if not sep or header != "data:image/png;base64":
        raise ImageError(f"{name}: not a PNG data URL")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"{name}: not valid base64") from None
    return read_canvas_png(data, name=name)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's first chunk (IHDR), without decoding anything."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ImageError("the drawing is not a PNG image")
    return struct.unpack(">II", data[16:24])


def _bounded_bytes(source: bytes | str | Path, label: str, max_bytes: int) -> bytes:
    if isinstance(source, (str, Path)):
        try:
            with open(source, "rb") as file:
                data = file.read(max_bytes + 1)  # never more than the limit, whatever the file
        except OSError as e:
            raise ImageError(f"{label}: cannot read ({e.strerror or e})") from None
    else:
        data = bytes(source)
    if not data:
        raise ImageError(f"{label}: the file is empty")
    if len(data) > max_bytes:
        raise ImageError(f"{label}: over the {max_bytes / 2**20:g} MB limit")
    return data


def _within(size: tuple[int, int], side: int) -> tuple[int, int]:
    scale = side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _reduced(image: Image.Image) -> Image.Image:
    """A copy at most WORK_SIDE on its longer side (box filter: every pixel counts)."""
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        image = image.convert("RGBA" if "transparency" in image.info or "A" in image.mode else "RGB")
    return image.resize(_within(image.size, WORK_SIDE), Image.Resampling.BOX)


def to_array(image: Image.Image) -> np.ndarray:
    """A decoded image as uint8: grey, or RGBA where it has transparency."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(image, dtype=np.float64)
        span = a.max() - a.min()
        a = (a - a.min()) / span * 255 if span else np.zeros_like(a)
        return a.astype(np.uint8)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        return np.asarray(image.convert("RGBA"))
    return np.asarray(image.convert("L"))
