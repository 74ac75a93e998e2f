"""Property-based tests (Hypothesis) of the three readers of untrusted input: model
metadata, images, and text bound for markdown. Whatever arrives, each either returns a
checked value or raises its own error with a message: never anything else."""

import io
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from markdown_it import MarkdownIt
from PIL import Image

from dnnlab import images, limits, registry
from dnnlab.architectures import count_params, preset_spec
from dnnlab.config import ModelSpec
from dnnlab.safe_text import INVISIBLE, escape_markdown

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD_META = {
    "name": "good",
    "preset": "cnn",
    "spec": preset_spec("cnn").to_dict(),
    "hyper": {"epochs": 10, "batch_size": 32, "learning_rate": 0.001, "seed": 0, "validation_split": 0.0},
    "params": 2674,
    "epochs_completed": 10,
    "stopped_early": False,
    "history": {"loss": [0.5, 0.3], "accuracy": [0.9, 0.95]},
    "test_accuracy": 0.98,
    "test_loss": 0.06,
    "train_seconds": 30.5,
    "epoch_seconds": [3.0, 3.1],
    "data_digest": "0123456789abcdef",
    "versions": {"keras": "3.15.1"},
    "created": "2026-12-01T03:00:00+00:00",
    "weights_sha256": "0" * 64,
}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def parse(data: bytes):
    try:
        return registry.parse_meta_bytes(data)
    except registry.MetaError as e:
        assert str(e)  # a reason to show beside the broken entry
        return None


@FAST
@given(st.binary(max_size=2000))
def test_any_bytes_give_metadata_or_a_reason(data):
    parse(data)


@FAST
@given(json_values)
def test_any_json_value_gives_metadata_or_a_reason(value):
    parse(json.dumps(value).encode())


@FAST
@given(st.sampled_from(sorted(GOOD_META)), json_values)
def test_any_field_replaced_by_anything_gives_metadata_or_a_reason(field, value):
    meta = parse(json.dumps({**GOOD_META, field: value}).encode())
    if meta is not None:  # what was accepted is what it reads back as
        assert parse(json.dumps(meta.to_dict()).encode()) == meta


def test_the_good_record_is_accepted_and_round_trips():
    meta = parse(json.dumps(GOOD_META).encode())
    assert meta is not None and meta.spec == preset_spec("cnn") and meta.test_accuracy == 0.98
    assert parse(json.dumps(meta.to_dict()).encode()) == meta


@pytest.mark.parametrize(
    "text, reason",
    [
        (json.dumps(GOOD_META).replace('"test_loss": 0.06', '"test_loss": Infinity'), "Infinity"),
        (json.dumps(GOOD_META).replace('"test_loss": 0.06', '"test_loss": NaN'), "NaN"),
        ("[" * 150_000 + "]" * 150_000, "larger than"),
        ('{"a":' * 20_000 + "1" + "}" * 20_000, "nested too deeply"),
        (json.dumps({**GOOD_META, "test_accuracy": "98%"}), "test_accuracy must be a number"),
        (json.dumps({**GOOD_META, "preset": {"evil": 1}}), "preset must be text"),
        (json.dumps({**GOOD_META, "spec": {**GOOD_META["spec"], "dense_units": [1e9]}}), "invalid spec"),
        (json.dumps({k: v for k, v in GOOD_META.items() if k != "weights_sha256"}), "weights digest"),
    ],
    ids=["infinity", "nan", "huge", "deep", "wrong-type", "object-preset", "absurd-spec", "no-digest"],
)
def test_the_reported_attacks_on_metadata_are_refused_with_a_reason(text, reason):
    with pytest.raises(registry.MetaError, match=reason):
        registry.parse_meta_bytes(text.encode())


# --- images ----------------------------------------------------------------------------


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@FAST
@given(st.binary(max_size=3000))
def test_any_bytes_give_an_image_or_a_reason(data):
    for read in (images.read_image, images.read_canvas_png):
        try:
            array = read(data)
        except images.ImageError as e:
            assert str(e)
        else:
            assert array.dtype == np.uint8 and array.ndim in (2, 3)


@FAST
@given(arrays(np.uint8, st.tuples(st.integers(1, 64), st.integers(1, 64), st.sampled_from([1, 3, 4]))))
def test_a_real_png_is_read_back_at_its_size(array):
    array = array[..., 0] if array.shape[2] == 1 else array
    for read in (images.read_image, images.read_canvas_png):
        assert read(png(array)).shape[:2] == array.shape[:2]


@FAST
@given(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1), st.binary(max_size=200))
def test_a_png_header_claiming_any_size_is_bounded_before_decoding(width, height, rest):
    # A PNG signature and an IHDR chunk naming width × height, then anything.
    header = (
        images.PNG_SIGNATURE + b"\x00\x00\x00\x0dIHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big")
    )
    data = header + b"\x08\x06\x00\x00\x00" + rest
    try:
        array = images.read_canvas_png(data)
    except images.ImageError as e:
        if max(width, height) > images.MAX_CANVAS_SIDE:
            assert "larger than a canvas drawing" in str(e)
    else:
        assert max(array.shape[:2]) <= images.MAX_CANVAS_SIDE


# --- text bound for markdown -------------------------------------------------------------

MARKDOWN = MarkdownIt("commonmark")
UNSAFE_TOKENS = {"link_open", "image", "html_inline", "html_block", "autolink"}


def rendered(source: str) -> tuple[set[str], str]:
    """(kinds of inline tokens, the text a reader sees) of one line of markdown."""
    kinds, text = set(), []
    for block in MARKDOWN.parse(source):
        kinds.add(block.type)
        for token in block.children or []:
            kinds.add(token.type)
            if token.type in ("text", "code_inline"):
                text.append(token.content)
            elif token.type == "softbreak":
                text.append("\n")
    return kinds, "".join(text)


@FAST
@given(st.text(max_size=200))
def test_escaped_text_renders_as_exactly_itself(value):
    kinds, text = rendered(escape_markdown(value))
    assert not kinds & UNSAFE_TOKENS
    visible = INVISIBLE.sub(" ", value)  # control and direction-override characters become spaces
    assert " ".join(text.split()) == " ".join(visible.split())


@pytest.mark.parametrize(
    "payload",
    [
        "![i](https:evil.example/b.png) [Click here to log in](https:evil.example/login)",
        "<img src=x onerror=alert(1)> <a href='https://evil.example'>x</a>",
        "https://evil.example www.evil.example user@evil.example",
        ":red[alarm] $\\frac{1}{0}$ # heading\n- item",
    ],
)
def test_the_reported_payloads_render_as_plain_text(payload):
    escaped = escape_markdown(payload)
    kinds, _ = rendered(escaped)
    assert not kinds & UNSAFE_TOKENS
    # GitHub-flavoured autolinks ("https://", "www.", "a@b.c") need these characters unescaped.
    assert not re.search(r"(?<!\\)[:.@]", escaped)


# --- the parameter cap counts without building ------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 64), max_size=3),
    st.lists(st.integers(1, 64), max_size=2),
    st.sampled_from([3, 5]),
    st.sampled_from([1, 2]),
    st.booleans(),
)
def test_the_parameter_count_from_the_spec_is_keras_count(dense, conv, kernel, pool, batch_norm):
    try:
        spec = ModelSpec(
            dense_units=tuple(dense),
            conv_filters=tuple(conv),
            kernel_size=kernel,
            pool_size=pool,
            batch_norm=batch_norm,
        )
    except ValueError:
        return  # a spec the form refuses (too many blocks for the image)
    assert limits.parameters(spec) == count_params(spec)
