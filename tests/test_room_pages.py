"""The Room page (projector) and the Join page (phones) under AppTest, on a real SQLite
file, with the canvas replaced by an injected drawing; and the room's analysis and export."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_pages import canvas
from dnnlab import room, room_analysis
from dnnlab.config import PRESETS
from dnnlab.room import Drawing, NetworkReading
from tests.conftest import copy_shipped, elements
from tests.support import digit_paths, render

ROOT = Path(__file__).resolve().parent.parent
ROOM_PAGE = str(ROOT / "app_pages" / "room.py")
JOIN_PAGE = str(ROOT / "app_pages" / "join.py")


@pytest.fixture
def store(tmp_path, monkeypatch, models_dir):
    """A room database of this test's own (and an empty models folder)."""
    url = str(tmp_path / "room.sqlite3")
    monkeypatch.setenv("DNNLAB_ROOM_DB", url)
    s = room.Store(url)
    yield s
    s.close()


class FakeCanvas:
    """Stands in for `canvas.draw_canvas`: returns `image`, records the sizes asked for."""

    def __init__(self, image=None):
        self.image, self.keys, self.sides = image, [], []

    def __call__(self, key: str, *, thick: bool = False, side: int = canvas.CANVAS_SIDE):
        self.keys.append(key)
        self.sides.append(side)
        return self.image


@pytest.fixture
def shipped(models_dir):
    """The talk's four shipped networks."""
    return copy_shipped(models_dir, PRESETS)


@pytest.fixture
def fake_canvas(monkeypatch):
    fake = FakeCanvas()
    monkeypatch.setattr(canvas, "draw_canvas", fake)
    return fake


def run(page: str, at: AppTest | None = None, **params) -> AppTest:
    if at is None:
        at = AppTest.from_file(page, default_timeout=120)
        at.query_params.update(params)
    at = at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def shown_text(at: AppTest) -> str:
    """The page's markdown as a reader sees it: no bold markers, no backslash escapes."""
    text = " | ".join(m.value for m in at.markdown).replace("**", "")
    return re.sub(r"\\(.)", r"\1", text)


def image_captions(at: AppTest) -> str:
    """The captions of every image on the page, as one text."""
    return " | ".join(img.caption for node in elements(at, "image") for img in node.proto.imgs)


def a_drawing(intended: int, reads: dict[str, int], seed: int = 0) -> Drawing:
    image = np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)
    readings = tuple(NetworkReading(n, d, 0.9) for n, d in reads.items())
    return Drawing(room.new_token(), intended, image, room_analysis.canvas_png(image), readings)


# --- the projector's Room page ----------------------------------------------------------


def test_opening_a_room_shows_how_to_join(store):
    at = run(ROOM_PAGE)
    assert [b.label for b in at.button] == ["Open a room"]
    at.button[0].click()
    at = run(ROOM_PAGE, at)
    code = (
        at.query_params["room"][0] if isinstance(at.query_params["room"], list) else at.query_params["room"]
    )
    assert store.room(code) is not None
    assert f"/join?room={code}" in shown_text(at), "the join address, with the room's code"
    assert len(elements(at, "image")) >= 1, "the QR code"
    assert metrics(at) == {"Phones connected": "0", "Drawings": "0"}
    assert any("Waiting for the first drawing" in i.value for i in at.info)


def test_the_projector_loads_the_networks_so_the_first_phones_do_not_wait(
    store, shipped, fake_canvas, monkeypatch
):
    """Under 200 phones, the first ones waited seconds for the networks (bench/room.py)."""
    warmed = []
    monkeypatch.setattr(room_analysis, "warm_up", lambda networks: warmed.append(list(networks)))
    code = store.open_room().code
    run(ROOM_PAGE, room=code)
    assert warmed == [list(room.TALK_NETWORKS)], "the Room page loaded and traced the talk's networks"
    fake_canvas.image = render(digit_paths(4))
    at = run(JOIN_PAGE, room=code)
    assert list(metrics(at)) == list(room.TALK_NETWORKS), "the phone read the drawing with them"
    assert len(warmed) == 1, "and did not load them again"


def test_the_lecturer_sets_the_address_and_a_bad_one_is_refused(store):
    code = store.open_room().code
    at = run(ROOM_PAGE, room=code)
    at.text_input(key="room_address").set_value("http://lecture-laptop.local:8501")
    at = run(ROOM_PAGE, at)
    assert f"Scan, or open http://lecture-laptop.local:8501/join?room={code}" in shown_text(at)
    at.text_input(key="room_address").set_value("javascript:alert(1) [click](https://evil.example)")
    at = run(ROOM_PAGE, at)
    assert len(at.error) == 1 and "address must look like" in at.error[0].value
    assert "evil" not in shown_text(at), "no link, and the bad address is not shown"


def test_the_room_sees_its_drawings_grouped_counted_and_compared(store, shipped):
    code = store.open_room().code
    store.add(code, a_drawing(3, {"mlp-raw": 5, "cnn": 3}, seed=1))
    store.add(code, a_drawing(3, {"mlp-raw": 3, "cnn": 3}, seed=2))
    store.add(code, a_drawing(8, {"mlp-raw": 3, "cnn": 0}, seed=3))  # no network reads the 8
    for _ in range(2):  # two phones
        store.seen(code, room.new_token())
    at = run(ROOM_PAGE, room=code)
    assert metrics(at) == {"Phones connected": "2", "Drawings": "3"}
    captions = image_captions(at)
    assert "cnn read 3: 2 drawings, 0 meant otherwise" in captions
    assert "cnn read 0: 1 drawings, 1 meant otherwise" in captions

    at.segmented_control(key="room_wall_by").set_value("mlp-raw")
    at = run(ROOM_PAGE, at)
    captions = image_captions(at)
    assert "mlp-raw read 3: 2 drawings, 1 meant otherwise" in captions
    store.add(code, a_drawing(5, {"mlp-raw": 5, "cnn": 5}, seed=4))  # sent since the last refresh
    at = run(ROOM_PAGE, at)
    assert metrics(at)[
        "Drawings"
    ] == "4" and "mlp-raw read 5: 2 drawings, 1 meant otherwise" in image_captions(at)

    at.segmented_control(key="room_view").set_value("Staircase")
    at = run(ROOM_PAGE, at)
    table = at.dataframe[0].value
    assert list(table["network"]) == ["mlp-raw", "cnn"], "in the talk's order"
    assert list(table["right"]) == [2, 3] and list(table["drawings"]) == [4, 4]
    assert table["mnist"].between(0.8, 1).all(), "beside each network's MNIST test accuracy"

    at.segmented_control(key="room_view").set_value("Confusion")
    at = run(ROOM_PAGE, at)
    assert len(elements(at, "arrow_vega_lite_chart", "vega_lite_chart")) == 2, "one matrix per network"

    at.segmented_control(key="room_view").set_value("Missed by every network")
    at = run(ROOM_PAGE, at)
    captions = image_captions(at)
    assert "meant 8; mlp-raw 3, cnn 0" in captions and "meant 3" not in captions and "meant 5" not in captions


def test_asking_clearing_and_closing(store):
    code = store.open_room().code
    store.add(code, a_drawing(1, {"cnn": 1}))
    at = run(ROOM_PAGE, room=code)
    at.segmented_control(key="room_asked").set_value(7)
    at = run(ROOM_PAGE, at)
    assert store.room(code).asked == 7
    [clear] = [b for b in at.button if b.label.startswith("Delete every drawing")]
    clear.click()
    at = run(ROOM_PAGE, at)
    assert store.count(code) == 0 and metrics(at)["Drawings"] == "0"
    [close] = [b for b in at.button if b.label.startswith("Close the room")]
    close.click()
    at = run(ROOM_PAGE, at)
    assert store.room(code) is None
    assert [b.label for b in at.button] == ["Open a room"]


# --- the phone's Join page -----------------------------------------------------------------


def test_a_phone_without_an_open_room_is_asked_for_the_code(store, shipped, fake_canvas):
    at = run(JOIN_PAGE, room="<b>ZZZZ")
    assert any("No open room has this code" in w.value for w in at.warning)
    code = store.open_room().code
    at.text_input(key="join_code").set_value(code.lower())
    at = run(JOIN_PAGE, at)
    assert any(t.value == f"Room {code}" for t in at.subheader)
    assert fake_canvas.keys, "the canvas is shown"


def test_a_phone_draws_reads_and_sends_once(store, shipped, fake_canvas):
    code = store.open_room().code
    store.ask(code, 3)
    at = run(JOIN_PAGE, room=code)
    assert store.connected(code) == 1, "an open page counts as a connected phone"
    assert any("Draw your digit" in i.value for i in at.info)
    assert "Draw a 3" in shown_text(at)

    fake_canvas.image = render(digit_paths(3))
    at = run(JOIN_PAGE, at)
    shown = metrics(at)
    assert list(shown) == list(room.TALK_NETWORKS), "every talk network, in the talk's order"
    assert shown["cnn"] == "3"
    assert store.count(code) == 0, "nothing is kept before the student sends"
    [send] = at.button
    assert send.label == "Send my 3"
    send.click()
    at = run(JOIN_PAGE, at)
    [stored] = store.drawings(code, with_png=True)
    assert stored.intended == 3
    assert {r.network: str(r.digit) for r in stored.readings} == shown, "what the phone showed is stored"
    assert stored.png.startswith(b"\x89PNG") and stored.image28.max() == 255
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(stored.png))), fake_canvas.image), (
        "the canvas as drawn"
    )
    assert any("Sent your 3" in s.value for s in at.success)
    assert fake_canvas.keys[-1] != fake_canvas.keys[0], "a new, empty canvas for the next digit"


def test_a_phone_picks_its_own_digit_and_a_closed_room_says_so(store, shipped, fake_canvas):
    code = store.open_room().code
    fake_canvas.image = render(digit_paths(7))
    at = run(JOIN_PAGE, room=code)
    assert not at.button, "no digit picked, nothing to send"
    assert any("Pick the digit you meant" in w.value for w in at.warning)
    at.segmented_control[0].set_value(7)
    at = run(JOIN_PAGE, at)
    store.close_room(code)
    at.button[0].click()
    at = run(JOIN_PAGE, at)
    assert any("No open room has this code (closed" in w.value for w in at.warning)
    assert store.count(code) == 0


# --- the room's analysis and export ----------------------------------------------------


def test_accuracy_confusion_and_misses_count_what_was_sent():
    drawings = [
        a_drawing(3, {"mlp-raw": 5, "cnn": 3}),
        a_drawing(3, {"mlp-raw": 3, "cnn": 3}),
        a_drawing(8, {"mlp-raw": 3, "cnn": 0}),
    ]
    table = room_analysis.accuracy(drawings)
    assert table.to_dict("records") == [
        {"network": "mlp-raw", "right": 1, "drawings": 3, "accuracy": pytest.approx(1 / 3)},
        {"network": "cnn", "right": 2, "drawings": 3, "accuracy": pytest.approx(2 / 3)},
    ]
    matrix = room_analysis.confusion(drawings, "cnn")
    assert matrix.sum() == 3 and matrix[3, 3] == 2 and matrix[8, 0] == 1
    assert room_analysis.missed_by_all(drawings) == [drawings[2]]
    assert list(room_analysis.wall(drawings, "mlp-raw")) == [3, 5]


def test_the_wall_paints_misread_drawings_in_another_colour():
    from dnnlab.charts import room as room_charts

    images = np.full((3, 28, 28), 255, np.uint8)
    picture = room_charts.thumbnails(images, [False, True, False], columns=2, scale=1)
    assert picture.shape == (2 * 29 - 1, 2 * 29 - 1, 3)
    right, wrong, empty, gutter = picture[5, 5], picture[5, 29 + 5], picture[29 + 5, 29 + 5], picture[28, 5]
    assert tuple(right) == (255, 255, 255) and tuple(wrong) == tuple(room_charts.WRONG_INK.astype(np.uint8))
    assert tuple(empty) == tuple(gutter) == tuple(room_charts.GUTTER)
    assert room_charts.thumbnails(images[:1], [False], scale=3).shape == (84, 84, 3)


def test_the_export_is_mnist_shaped_and_readable_like_mnist(tmp_path, mnist):
    drawings = [a_drawing(d % 10, {"cnn": d % 10}, seed=d) for d in range(25)]
    path = tmp_path / "room.npz"
    path.write_bytes(room_analysis.mnist_npz(drawings, test_fraction=0.2, seed=1))
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    (x_train, y_train), _ = mnist
    assert set(arrays) == {"x_train", "y_train", "x_test", "y_test"}
    assert (len(arrays["x_train"]), len(arrays["x_test"])) == (20, 5)
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        assert arrays[x].dtype == x_train.dtype and arrays[x].shape[1:] == x_train.shape[1:]
        assert arrays[y].dtype == y_train.dtype
    # Every drawing once, with the digit its student meant.
    by_image = {d.image28.tobytes(): d.intended for d in drawings}
    exported = list(
        zip(
            np.concatenate([arrays["x_train"], arrays["x_test"]]),
            np.concatenate([arrays["y_train"], arrays["y_test"]]),
            strict=True,
        )
    )
    assert sorted(by_image[x.tobytes()] for x, _ in exported) == sorted(by_image.values())
    assert all(by_image[x.tobytes()] == y for x, y in exported)


def test_the_phone_readings_come_from_the_fast_path(shipped):
    from dnnlab import registry
    from dnnlab.config import ModelSpec

    networks = {}
    for name in room.TALK_NETWORKS:
        model, meta = registry.load(name)
        networks[name] = (model, ModelSpec.from_dict(meta["spec"]))
    image28, readings = room_analysis.read_with_networks(networks, render(digit_paths(7)))
    assert image28.dtype == np.uint8 and image28.shape == (28, 28)
    assert [r.network for r in readings] == list(room.TALK_NETWORKS)
    assert {r.digit for r in readings if r.network in ("mlp-relu", "cnn")} == {7}
    assert all(0 < r.confidence <= 1 for r in readings)
    # What the phone stores passes the store's checks, canvas PNG included.
    Drawing(
        room.new_token(), 7, image28, room_analysis.canvas_png(render(digit_paths(7))), readings
    ).validate()
