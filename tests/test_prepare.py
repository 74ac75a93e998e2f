"""`dnnlab.preprocess.prepare`: any drawing or photo → the 28×28 image MNIST networks read."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from dnnlab import images, inference, preprocess, registry
from dnnlab.architectures import ModelSpec
from tests.support import digit_paths, render

SHIPPED = ("cnn", "mlp-relu")


@pytest.fixture(scope="module")
def shipped():
    """The shipped CNN and ReLU MLP, read from models/ (never written)."""
    loaded = {}
    for name in SHIPPED:
        model, meta = registry.load(name, registry.models_dir())
        loaded[name] = (model, ModelSpec.from_dict(meta["spec"]))
    return loaded


def classify(shipped, name, image) -> int:
    model, spec = shipped[name]
    return int(inference.predict(model, spec, image).argmax())


# --- synthetic drawings -------------------------------------------------------------


def transparent(rgba: np.ndarray, ink=(255, 255, 255)) -> np.ndarray:
    """The drawing's ink on a fully transparent background (alpha = ink)."""
    out = np.zeros_like(rgba)
    out[..., :3] = ink
    out[..., 3] = rgba[..., 0]
    return out


def inverted(rgba: np.ndarray) -> np.ndarray:
    out = rgba.copy()
    out[..., :3] = 255 - out[..., :3]
    return out


DRAWINGS = {
    "canvas": lambda d: render(digit_paths(d)),
    "thick": lambda d: render(digit_paths(d, size=200), width=34),
    "thin": lambda d: render(digit_paths(d, size=200), width=3),
    "off-centre": lambda d: render(digit_paths(d, size=110, centre=(70, 200))),
    "tiny": lambda d: render(digit_paths(d, size=50, centre=(200, 60))),
    "huge": lambda d: render(digit_paths(d, size=276, aspect=0.9)),
    "inverted": lambda d: inverted(render(digit_paths(d))),
    "white-on-transparent": lambda d: transparent(render(digit_paths(d))),
    "black-on-transparent": lambda d: transparent(render(digit_paths(d)), ink=(0, 0, 0)),
    "grey-2d": lambda d: render(digit_paths(d))[..., 0],
    "float-0-1": lambda d: render(digit_paths(d))[..., 0] / 255.0,
    "wide-rgb": lambda d: np.pad(render(digit_paths(d))[..., :3], ((0, 0), (100, 180), (0, 0))),
    "pil": lambda d: Image.fromarray(render(digit_paths(d))),
}


@pytest.mark.parametrize("kind", DRAWINGS)
def test_prepare_gives_an_mnist_like_image(kind):
    image28 = preprocess.prepare(DRAWINGS[kind](3))
    assert image28.shape == (28, 28)
    assert image28.dtype == np.float32
    assert image28.min() >= 0.0
    assert image28.max() == pytest.approx(255.0), "strokes peak at full white, as in MNIST"
    rows, cols = np.nonzero(image28 > 0)
    assert rows.max() - rows.min() + 1 <= 20 and cols.max() - cols.min() + 1 <= 20, "fits a 20×20 box"
    assert rows.max() - rows.min() + 1 == 20, "a digit is taller than wide: its height fills the box"
    ys, xs = np.indices(image28.shape)
    total = image28.sum()
    centre = ((ys * image28).sum() / total, (xs * image28).sum() / total)
    assert abs(centre[0] - 13.5) <= 1.0 and abs(centre[1] - 13.5) <= 1.0, centre
    ink_fraction = (image28 > 127).mean()
    assert 0.05 < ink_fraction < 0.3, f"strokes of MNIST-like thickness, got {ink_fraction:.2f} ink"


@pytest.mark.parametrize(
    "kind", ["inverted", "white-on-transparent", "black-on-transparent", "grey-2d", "float-0-1", "pil"]
)
def test_polarity_transparency_and_format_do_not_change_the_result(kind):
    reference = preprocess.prepare(DRAWINGS["canvas"](5))
    assert np.abs(preprocess.prepare(DRAWINGS[kind](5)) - reference).mean() < 1.0


@pytest.mark.parametrize("kind", ["canvas", "inverted"])
def test_a_canvas_flat_background_reads_as_the_fitted_one(kind):
    """A canvas's one-shade border skips the paper's background fit: one border pixel a
    shade off takes the fit instead, and the two 28×28 images agree."""
    drawing = DRAWINGS[kind](4)
    off = drawing.copy()
    off[0, 0, :3] = np.where(off[0, 0, :3] > 127, 254, 1)
    flat, fitted = preprocess.prepare(drawing), preprocess.prepare(off)
    assert (flat > 127).sum() > 50  # a digit, not a blank
    assert np.abs(flat - fitted).max() < 1.0  # of 255


def test_position_does_not_change_the_result():
    centred = preprocess.prepare(render(digit_paths(7, size=120)))
    moved = preprocess.prepare(render(digit_paths(7, size=120, centre=(80, 190))))
    assert np.abs(centred - moved).mean() < 2.0


def test_thin_and_thick_strokes_are_brought_to_mnist_thickness():
    inks = {kind: (preprocess.prepare(DRAWINGS[kind](8)) > 127).sum() for kind in ("thin", "canvas", "tiny")}
    # Without stroke normalisation a 3-pixel pen gives ~20 ink pixels and a 50-pixel
    # digit drawn with a 20-pixel brush ~150; MNIST's eights have ~110.
    assert 50 < inks["thin"] < 140, inks
    assert 50 < inks["tiny"] < 140, inks


def test_the_target_stroke_range_is_mnists_own(mnist):
    """The constants are the 1st, 50th and 99th percentiles `mnist_stroke_range` derives."""
    (x_train, _), _ = mnist
    low, median, high = preprocess.mnist_stroke_range(x_train)
    low_, high_ = preprocess.STROKE_RATIO_RANGE
    assert (low, median, high) == pytest.approx((low_, preprocess.STROKE_RATIO_MEDIAN, high_), abs=0.001)


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((280, 280, 4), np.uint8) + np.array([0, 0, 0, 255], np.uint8),
        np.full((280, 280), 255, np.uint8),
        np.zeros((280, 280, 4), np.uint8),  # a fully transparent canvas
        np.pad(np.full((1, 2), 255, np.uint8), 139),  # two stray pixels
    ],
    ids=["black", "white", "transparent", "two-pixels"],
)
def test_a_blank_image_is_refused(image):
    with pytest.raises(images.BlankImageError, match="blank"):
        preprocess.prepare(image)


def test_a_bad_array_shape_is_refused_with_its_shape():
    with pytest.raises(images.ImageError, match=r"\(280, 280, 2\)"):
        preprocess.prepare(np.zeros((280, 280, 2), np.uint8))


# --- the shipped networks read what prepare makes ----------------------------------


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("kind", ["canvas", "thick", "thin", "off-centre", "huge", "inverted"])
def test_shipped_networks_read_drawn_digits(shipped, name, kind):
    right = [d for d in range(10) if classify(shipped, name, DRAWINGS[kind](d)) == d]
    assert len(right) >= 9, f"{name} read {right} of 0-9 ({kind})"


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("brush", [10, 12, 14])
def test_thin_brush_drawings_of_every_digit_are_read_right_on_the_draw_pages_path(shipped, name, brush):
    """The canvas's RGBA drawing through `read_digit`, as the Draw page calls it."""
    model, spec = shipped[name]
    readings = {
        d: inference.read_digit(model, spec, render(digit_paths(d), width=brush)).digit for d in range(10)
    }
    assert readings == {d: d for d in range(10)}, f"{name}, {brush}-pixel brush: {readings}"


def test_shipped_cnn_reads_tiny_drawings(shipped):
    right = [d for d in range(10) if classify(shipped, "cnn", DRAWINGS["tiny"](d)) == d]
    assert len(right) >= 9, right


def upscaled_mnist(x: np.ndarray, i: int) -> np.ndarray:
    """An MNIST test digit as someone would hand it over: 280×280, in one of four forms."""
    big = np.asarray(Image.fromarray(x).resize((280, 280), Image.Resampling.BILINEAR))
    form = i % 4
    if form == 1:
        return 255 - big  # black on white
    if form == 2:  # white ink on a transparent background
        return np.dstack([np.full_like(big, 255)] * 3 + [big])
    if form == 3:  # an RGB photo-like scan, dark ink on light paper
        return np.dstack([230 - big * 0.8] * 3).astype(np.uint8)
    return big


@pytest.mark.parametrize("name", SHIPPED)
def test_upscaled_mnist_digits_are_read_as_well_as_the_originals(shipped, name):
    from dnnlab import data

    _, (x_test, y_test) = data.load_mnist()
    idx = np.random.default_rng(0).choice(len(x_test), 200, replace=False)
    model, spec = shipped[name]
    direct = np.mean([inference.predict_prepared(model, spec, x_test[i]).argmax() == y_test[i] for i in idx])
    prepared = np.mean(
        [classify(shipped, name, upscaled_mnist(x_test[i], k)) == y_test[i] for k, i in enumerate(idx)]
    )
    assert prepared >= 0.95, f"{name}: {prepared:.1%} of upscaled digits right (originals: {direct:.1%})"
    assert prepared >= direct - 0.02, f"{name}: {prepared:.1%} vs {direct:.1%} on the originals"


def test_predict_gives_ten_probabilities(shipped):
    """280×280 RGBA → ten probabilities (how fast: `bench/draw_latency.py`)."""
    model, spec = shipped["cnn"]
    probabilities = inference.predict(model, spec, render(digit_paths(2)))
    assert probabilities.shape == (10,) and probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    assert probabilities.argmax() == 2


# --- uploads ------------------------------------------------------------------------


def png_bytes(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_an_uploaded_photo_reads_like_the_drawing(fmt):
    drawing = inverted(render(digit_paths(4)))[..., :3]  # black on white, like paper
    array = images.read_image(png_bytes(drawing, fmt), name=f"four.{fmt.lower()}")
    assert np.abs(preprocess.prepare(array) - preprocess.prepare(render(digit_paths(4)))).mean() < 2.0


def under_uneven_light(drawing: np.ndarray) -> np.ndarray:
    """A white-on-black drawing as a photo of dark ink on paper lit from one corner:
    the paper goes from 30% to 100% brightness, with a little sensor noise."""
    rows, cols = np.indices(drawing.shape[:2]) / (drawing.shape[0] - 1)
    light = 0.3 + 0.7 * (0.7 * cols + 0.3 * rows)
    paper = (255.0 - drawing[..., 0]) * light + np.random.default_rng(0).normal(0, 3, light.shape)
    return np.dstack([paper.clip(0, 255).astype(np.uint8)] * 3)


def test_a_photo_under_uneven_light_reads_like_the_drawing(shipped):
    model, spec = shipped["cnn"]
    for digit in range(10):
        drawing = render(digit_paths(digit))
        upload = images.read_image(png_bytes(under_uneven_light(drawing), "JPEG"), name="photo.jpg")
        prepared, reference = preprocess.prepare(upload), preprocess.prepare(drawing)
        # The same image, up to the whole-pixel centring (a centre of mass near x.5 may round
        # either way).
        shifts = [np.roll(prepared, (dy, dx), axis=(0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        assert min(np.abs(s - reference).mean() for s in shifts) < 2.0, digit
        assert int(inference.predict_prepared(model, spec, prepared).argmax()) == digit


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the file is empty"),
        (b"not an image at all", "not a readable image"),
        (png_bytes(np.zeros((9, 9), np.uint8))[:40], ""),
    ],
    ids=["empty", "text", "truncated"],
)
def test_an_unreadable_upload_is_refused_by_name(data, message):
    with pytest.raises(images.ImageError, match=f"bad.png: {message}"):
        images.read_image(data, name="bad.png")
