"""The room's store: real SQLite files (and Postgres where its binaries are installed),
concurrent writers in several processes, validated writes, clearing and expiry."""

from __future__ import annotations

import io
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dnnlab import room
from dnnlab.room import Drawing, NetworkReading, RoomError, Store

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """The store's time, moved by the test: expiry without waiting."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def png_of(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def a_drawing(intended: int = 3, seed: int = 0, key: str | None = None) -> Drawing:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    readings = tuple(
        NetworkReading(name, int(rng.integers(10)), float(rng.random()))
        for name in reversed(room.TALK_NETWORKS)
    )
    return Drawing(key or room.new_token(), intended, image, png_of(image), readings)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    s = Store(str(tmp_path / "room.sqlite3"), clock=clock)
    yield s
    s.close()


def test_a_drawing_comes_back_as_sent(store, clock):
    code = store.open_room().code
    sent = a_drawing(7)
    assert store.add(code, sent) is True
    [got] = store.drawings(code, with_png=True)
    assert (got.key, got.intended, got.sent_at) == (sent.key, 7, clock.now)
    np.testing.assert_array_equal(got.image28, sent.image28)
    assert got.png == sent.png
    assert [r.network for r in got.readings] == list(room.TALK_NETWORKS), "in the talk's order"
    assert {r.network: (r.digit, r.confidence) for r in got.readings} == {
        r.network: (r.digit, r.confidence) for r in sent.readings
    }
    assert store.drawings(code)[0].png == b"", "the wall does not fetch PNGs it does not show"


def test_sending_the_same_drawing_twice_stores_it_once(store):
    code = store.open_room().code
    drawing = a_drawing()
    assert store.add(code, drawing) is True
    assert store.add(code, drawing) is False
    assert store.count(code) == 1


def _broken(**change) -> Drawing:
    good = a_drawing()
    fields = {
        "key": good.key,
        "intended": good.intended,
        "image28": good.image28,
        "png": good.png,
        "readings": good.readings,
    }
    return Drawing(**{**fields, **change})


@pytest.mark.parametrize(
    "drawing, message",
    [
        (_broken(intended=10), "digit 0-9"),
        (_broken(intended=-1), "digit 0-9"),
        (_broken(intended=True), "digit 0-9"),
        (_broken(intended="3"), "digit 0-9"),
        (_broken(image28=np.zeros((28, 27), np.uint8)), "28×28"),
        (_broken(image28=np.zeros((28, 28), np.float32)), "28×28"),
        (_broken(png=b"GIF89a" + bytes(100)), "not a PNG"),
        (_broken(png=png_of(np.zeros((28, 28), np.uint8)) + bytes(room.MAX_PNG_BYTES)), "at most"),
        (_broken(png=png_of(np.zeros((2000, 10), np.uint8))), "larger than a canvas"),
        (_broken(key="x' OR 1=1 --"), "key"),
        (_broken(readings=(NetworkReading("resnet-152", 3, 0.9),)), "talk's networks"),
        (_broken(readings=(NetworkReading("cnn", 11, 0.9),)), "digit 0-9"),
        (_broken(readings=(NetworkReading("cnn", 3, float("nan")),)), "between 0 and 1"),
        (_broken(readings=(NetworkReading("cnn", 3, 1.5),)), "between 0 and 1"),
        (_broken(readings=(NetworkReading("cnn", 3, "0.9"),)), "number"),
        (_broken(readings=(NetworkReading("cnn", 3, 0.9), NetworkReading("cnn", 4, 0.1))), "once"),
        (_broken(readings=(("cnn", 3, 0.9),)), "NetworkReading"),
    ],
)
def test_invalid_drawings_are_refused_and_nothing_is_stored(store, drawing, message):
    code = store.open_room().code
    with pytest.raises(RoomError, match=message):
        store.add(code, drawing)
    assert store.count(code) == 0


@pytest.mark.parametrize("code", ["", "abc", "ABCDEFG", "AB'CD", "ABCD0", "<b>X</b>", None, 12345])
def test_room_codes_from_urls_are_validated(store, code):
    with pytest.raises(RoomError, match="no room has the code"):
        store.room(code)


def test_codes_are_case_insensitive_and_unknown_rooms_refuse_drawings(store):
    code = store.open_room().code
    assert store.room(code.lower()).code == code
    other = "".join(reversed(code)) if code[::-1] != code else "ZZZZZ"
    assert store.room(other) is None
    with pytest.raises(RoomError, match="closed"):
        store.add(other, a_drawing())


def test_a_room_expires_with_everything_in_it(tmp_path, clock):
    path = tmp_path / "room.sqlite3"
    store = Store(str(path), clock=clock)
    code = store.open_room(lifetime=60).code
    store.add(code, a_drawing())
    store.seen(code, room.new_token())
    clock.now += 59
    assert store.room(code) is not None
    clock.now += 2
    assert store.room(code) is None
    with pytest.raises(RoomError, match="closed"):
        store.add(code, a_drawing())
    assert store.purge_expired() == 1
    with sqlite3.connect(path) as db:  # nothing left on disk
        counts = [
            db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("rooms", "drawings", "readings", "phones")
        ]
    assert counts == [0, 0, 0, 0]


def test_the_lifetime_comes_from_the_environment(monkeypatch, store, clock):
    monkeypatch.setenv("DNNLAB_ROOM_TTL", "120")
    opened = store.open_room()
    assert opened.expires_at - opened.opened_at == 120
    monkeypatch.setenv("DNNLAB_ROOM_TTL", "forever")
    assert room.ttl() == room.DEFAULT_TTL


def test_clearing_a_room_deletes_its_drawings_only(store):
    code, other = store.open_room().code, store.open_room().code
    for seed in range(3):
        store.add(code, a_drawing(seed=seed))
    store.add(other, a_drawing())
    store.clear(code)
    assert (store.count(code), store.count(other)) == (0, 1)
    assert store.room(code) is not None, "the room stays open for the next round"
    store.add(code, a_drawing())
    assert store.count(code) == 1
    store.close_room(code)
    assert store.room(code) is None


def test_the_digit_asked_for(store):
    code = store.open_room().code
    assert store.room(code).asked is None
    store.ask(code, 4)
    assert store.room(code).asked == 4
    store.ask(code, None)
    assert store.room(code).asked is None
    with pytest.raises(RoomError):
        store.ask(code, 12)


def test_connected_phones_are_those_seen_lately(store, clock):
    code = store.open_room().code
    phones = [room.new_token() for _ in range(3)]
    for phone in phones:
        store.seen(code, phone)
    store.seen(code, phones[0])  # the same phone twice is one phone
    assert store.connected(code) == 3
    clock.now += room.CONNECTED_WINDOW - 1
    store.seen(code, phones[1])
    clock.now += 2
    assert store.connected(code) == 1
    with pytest.raises(RoomError):
        store.seen(code, "not-a-token")


def test_a_full_room_refuses_more(store, monkeypatch):
    monkeypatch.setattr(room, "MAX_DRAWINGS_PER_ROOM", 2)
    code = store.open_room().code
    store.add(code, a_drawing(seed=1))
    store.add(code, a_drawing(seed=2))
    with pytest.raises(RoomError, match="full"):
        store.add(code, a_drawing(seed=3))
    assert store.count(code) == 2


def test_a_new_file_is_migrated_once_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "room.sqlite3"
    Store(str(path)).open_room()
    again = Store(f"sqlite:///{path}")  # a second process opening the same file
    assert len(again.drawings(again.open_room().code)) == 0
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(len(room.MIGRATIONS),)]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT COUNT(*) FROM rooms").fetchone()[0] == 2


def test_an_older_database_is_migrated_and_keeps_its_drawings(tmp_path, monkeypatch):
    path = str(tmp_path / "room.sqlite3")
    monkeypatch.setattr(room, "MIGRATIONS", room.MIGRATIONS[:1])  # as the first version made it
    old = Store(path)
    code = old.open_room().code
    old.add(code, a_drawing(4))
    old.close()
    monkeypatch.undo()
    new = Store(path)
    assert new.room(code).generation == 0
    assert [d.intended for d in new.drawings(code)] == [4]
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(len(room.MIGRATIONS),)]


def test_a_reader_fetches_only_what_is_new_and_learns_of_a_clear(store):
    code = store.open_room().code
    for seed in range(3):
        store.add(code, a_drawing(seed=seed))
    first = store.drawings(code)
    assert [d.number for d in first] == sorted(d.number for d in first)
    store.add(code, a_drawing(seed=9))
    [new] = store.drawings(code, after=first[-1].number)
    assert new.number > first[-1].number and len(new.readings) == len(room.TALK_NETWORKS)
    generation = store.room(code).generation
    store.clear(code)
    assert store.room(code).generation == generation + 1


def test_the_default_database_is_a_file_beside_the_models(models_dir, monkeypatch):
    monkeypatch.delenv("DNNLAB_ROOM_DB", raising=False)
    assert Path(room.default_url()) == models_dir.parent / "room.sqlite3"
    monkeypatch.setenv("DNNLAB_ROOM_DB", "postgresql://h/db")
    assert room.default_url() == "postgresql://h/db"


# --- several writers at once ------------------------------------------------------------


# Each writer is a process of its own, as several app servers are (started with
# `python -c`, not multiprocessing: an AppTest run earlier in this process leaves a page
# script as `__main__`, which spawned children would re-run).
WRITER = """
import io, sys
import numpy as np
from PIL import Image
from dnnlab import room

url, code, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = room.Store(url)
for i in range(count):
    rng = np.random.default_rng(writer * 1000 + i)
    image = rng.integers(0, 256, (28, 28), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(image).save(png, format="PNG")
    readings = tuple(room.NetworkReading(n, int(rng.integers(10)), float(rng.random())) for n in room.TALK_NETWORKS)
    drawing = room.Drawing(room.new_token(), i % 10, image, png.getvalue(), readings)
    assert store.add(code, drawing) is True
    assert store.add(code, drawing) is False  # a phone re-sending: stored once
    print(drawing.key, flush=True)
"""


def run_writers(url: str, code: str, writers: int, count: int) -> list[str]:
    """Start the writers together; the keys of every drawing they stored."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, code, str(w), str(count)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    keys = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        keys += out.split()
    return keys


def test_concurrent_writers_in_several_processes_store_each_drawing_once(tmp_path):
    url = str(tmp_path / "room.sqlite3")
    code = Store(url).open_room().code
    sent = run_writers(url, code, writers=4, count=40)
    assert len(set(sent)) == 4 * 40
    stored = Store(url).drawings(code)
    assert sorted(d.key for d in stored) == sorted(sent)
    assert all(len(d.readings) == len(room.TALK_NETWORKS) for d in stored)


def test_concurrent_writers_in_threads_of_one_process(store):
    from concurrent.futures import ThreadPoolExecutor

    code = store.open_room().code
    drawings = [a_drawing(seed=i) for i in range(60)]
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda d: store.add(code, d), drawings + drawings))
    assert results.count(True) == 60 and results.count(False) == 60
    assert store.count(code) == 60


def test_a_thread_per_request_reuses_pooled_connections(store, monkeypatch):
    """Streamlit runs each script run in a thread of its own: they share a few connections."""
    import threading

    code = store.open_room().code
    opened = []
    connect = store._connect
    monkeypatch.setattr(store, "_connect", lambda: opened.append(1) or connect())

    def script_run():  # a phone's Send: a write, then a read
        store.add(code, a_drawing())
        store.count(code)

    for _ in range(30):
        thread = threading.Thread(target=script_run)
        thread.start()
        thread.join()
    assert store.count(code) == 30
    assert len(opened) <= 1, "one connection, borrowed and given back by each thread in turn"


# --- the same store on Postgres -----------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway Postgres server on a loopback port, run as the `postgres` user."""
    binaries = _postgres_bin()
    if binaries is None or shutil.which("runuser") is None:
        pytest.skip("Postgres is not installed (Debian: apt-get install -y postgresql)")
    # Not under pytest's temporary folder: that is private to us, and Postgres refuses
    # to run as root, so its files belong to the `postgres` user.
    folder = Path(tempfile.mkdtemp(prefix="dnnlab-postgres-"))
    os.chmod(folder, 0o777)
    data = folder / "data"

    def as_postgres(*args, **kwargs):
        as_root = os.geteuid() == 0
        command = ["runuser", "-u", "postgres", "--", *args] if as_root else list(args)
        return subprocess.run(command, check=True, capture_output=True, timeout=120, **kwargs)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_postgres(str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
    as_postgres(
        str(binaries / "pg_ctl"),
        "-D",
        str(data),
        "-w",
        "-t",
        "60",
        "-l",
        str(folder / "log"),
        "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {folder}",
        "start",
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_postgres_stores_validates_and_expires_as_sqlite(postgres_url, clock):
    store = Store(postgres_url, clock=clock)
    assert store.dialect == "postgresql"
    code = store.open_room(lifetime=60).code
    sent = a_drawing(5)
    assert store.add(code, sent) is True
    assert store.add(code, sent) is False
    [got] = store.drawings(code, with_png=True)
    np.testing.assert_array_equal(got.image28, sent.image28)
    assert (got.png, got.intended) == (sent.png, 5)
    assert [r.network for r in got.readings] == list(room.TALK_NETWORKS)
    with pytest.raises(RoomError, match="digit 0-9"):
        store.add(code, _broken(intended=12))
    store.seen(code, room.new_token())
    assert store.connected(code) == 1
    clock.now += 61
    assert store.room(code) is None
    assert store.purge_expired() >= 1
    store.close()


def test_postgres_concurrent_writers_in_several_processes(postgres_url):
    code = Store(postgres_url).open_room().code
    sent = run_writers(postgres_url, code, writers=3, count=20)
    assert len(set(sent)) == 3 * 20
    assert sorted(d.key for d in Store(postgres_url).drawings(code)) == sorted(sent)
