"""The room's drawings, stored for real: what students send from their phones.

A lecturer opens a room (a short code); students draw on their phones and send. Each
drawing keeps its 28×28 image, the canvas PNG, the digit the student meant, every talk
network's reading and confidence, and the server's time: no names, no addresses. Rooms
expire after `DNNLAB_ROOM_TTL` seconds (default 3 hours) with everything in them.

The store is SQLite by default (a file beside `models/`, WAL mode, so several server
processes can write at once) and Postgres when `DNNLAB_ROOM_DB` is a `postgresql://` URL,
for several app servers sharing one room. Both speak the same portable SQL through one
small interface; the schema is created and upgraded by `MIGRATIONS`, in code.

Everything written is validated first (`Drawing.validate`): a phone is untrusted input.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dnnlab import registry
from dnnlab.config import PRESETS
from dnnlab.images import MAX_CANVAS_SIDE, ImageError, png_size

TALK_NETWORKS = tuple(PRESETS)  # the four networks of the talk, in its order
DEFAULT_TTL = 3 * 3600.0  # a lecture, with margin
CONNECTED_WINDOW = 45.0  # a phone whose page spoke in the last 45 s is "connected" (it speaks every 15 s)
MAX_PNG_BYTES = 512 * 1024  # a canvas PNG is a few kB; a phone's at 3× pixel density < 100 kB
MAX_DRAWINGS_PER_ROOM = 10_000  # 200 students × 50 drawings: far beyond one lecture
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread from a projector
CODE_LENGTH = 5
_CODE = re.compile(f"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")
_TOKEN = re.compile(r"[0-9a-f]{32}")  # a drawing's or a phone session's random key


class RoomError(ValueError):
    """A room that does not exist (any more) or a drawing that cannot be stored; the
    message says which, in words a student can read."""


def new_token() -> str:
    """A random key: one per phone session and one per drawing (so a re-send is not a copy)."""
    return secrets.token_hex(16)


def valid_code(code: object) -> str:
    """The room code, upper-cased, or a RoomError (codes come from URLs)."""
    text = str(code or "").strip().upper()[:16]
    if not _CODE.fullmatch(text):
        raise RoomError(f"no room has the code {text!r}: room codes are {CODE_LENGTH} letters or digits")
    return text


def _token(value: object, what: str) -> str:
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise RoomError(f"{what} is not a valid key")
    return value


@dataclass(frozen=True)
class NetworkReading:
    """What one network read: its digit and how sure it was."""

    network: str
    digit: int
    confidence: float

    def validate(self) -> NetworkReading:
        if self.network not in TALK_NETWORKS:
            raise RoomError(f"{str(self.network)[:40]!r} is not one of the talk's networks")
        digit, confidence = _digit(self.digit, "a reading"), self.confidence
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float, np.floating)):
            raise RoomError("a confidence must be a number")
        if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
            raise RoomError(f"a confidence must be between 0 and 1, not {confidence!r}")
        return NetworkReading(self.network, digit, float(confidence))


def _digit(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value <= 9:
        raise RoomError(f"{what} must be a digit 0-9, not {str(value)[:20]!r}")
    return int(value)


@dataclass(frozen=True)
class Drawing:
    """One drawing a student sent. `key` is random per drawing: sending it twice stores it once."""

    key: str
    intended: int
    image28: np.ndarray  # uint8, 28×28, white on black as MNIST
    png: bytes  # the canvas as drawn
    readings: tuple[NetworkReading, ...]
    sent_at: float = 0.0  # the server's time, set when stored
    number: int = 0  # its place in the database (increasing), set when stored

    def validate(self) -> Drawing:
        """The same drawing with checked, typed fields, or a RoomError saying what is wrong."""
        image = self.image28
        if not isinstance(image, np.ndarray) or image.shape != (28, 28) or image.dtype != np.uint8:
            raise RoomError("the 28×28 image must be a uint8 array of shape (28, 28)")
        png = self.png
        if not isinstance(png, (bytes, bytearray)) or len(png) > MAX_PNG_BYTES:
            raise RoomError(f"the drawing must be a PNG of at most {MAX_PNG_BYTES // 1024} kB")
        try:
            width, height = png_size(bytes(png))
        except ImageError:
            raise RoomError("the drawing is not a PNG") from None
        if not (0 < width <= MAX_CANVAS_SIDE and 0 < height <= MAX_CANVAS_SIDE):
            raise RoomError(f"the drawing's PNG is {width}×{height}, larger than a canvas")
        if not all(isinstance(r, NetworkReading) for r in self.readings):
            raise RoomError("readings must be NetworkReading values")
        readings = tuple(r.validate() for r in self.readings)
        if len({r.network for r in readings}) != len(readings):
            raise RoomError("each network reads a drawing once")
        return Drawing(
            _token(self.key, "the drawing's key"),
            _digit(self.intended, "the digit meant"),
            np.ascontiguousarray(image),
            bytes(png),
            readings,
            self.sent_at,
            self.number,
        )

    def reading(self, network: str) -> NetworkReading | None:
        return next((r for r in self.readings if r.network == network), None)


@dataclass(frozen=True)
class Room:
    code: str
    opened_at: float
    expires_at: float
    asked: int | None  # the digit the lecturer asks for, if any
    generation: int = 0  # how many times it was cleared: a reader's cache of it is stale when this changes


# --- the schema, as code -------------------------------------------------------------

# Each migration is a list of statements in portable SQL; {id}, {blob} and {float} are
# the only words SQLite and Postgres spell differently.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE rooms (
            code TEXT PRIMARY KEY,
            opened_at {float} NOT NULL,
            expires_at {float} NOT NULL,
            asked INTEGER CHECK (asked BETWEEN 0 AND 9))""",
        """CREATE TABLE drawings (
            id {id},
            room TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
            drawing_key TEXT NOT NULL UNIQUE,
            sent_at {float} NOT NULL,
            intended INTEGER NOT NULL CHECK (intended BETWEEN 0 AND 9),
            image28 {blob} NOT NULL CHECK (length(image28) = 784),
            png {blob} NOT NULL)""",
        "CREATE INDEX drawings_by_room ON drawings (room, id)",
        """CREATE TABLE readings (
            drawing_id BIGINT NOT NULL REFERENCES drawings (id) ON DELETE CASCADE,
            network TEXT NOT NULL,
            digit INTEGER NOT NULL CHECK (digit BETWEEN 0 AND 9),
            confidence {float} NOT NULL CHECK (confidence BETWEEN 0 AND 1),
            PRIMARY KEY (drawing_id, network))""",
        """CREATE TABLE phones (
            room TEXT NOT NULL REFERENCES rooms (code) ON DELETE CASCADE,
            session TEXT NOT NULL,
            seen_at {float} NOT NULL,
            PRIMARY KEY (room, session))""",
    ],
    ["ALTER TABLE rooms ADD COLUMN generation INTEGER NOT NULL DEFAULT 0"],
]

DIALECTS = {
    "sqlite": {"id": "INTEGER PRIMARY KEY", "blob": "BLOB", "float": "DOUBLE PRECISION"},
    "postgresql": {
        "id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "blob": "BYTEA",
        "float": "DOUBLE PRECISION",
    },
}


def default_url() -> str:
    """`$DNNLAB_ROOM_DB`, else `room.sqlite3` beside the models folder."""
    return os.environ.get("DNNLAB_ROOM_DB") or str(registry.models_dir().resolve().parent / "room.sqlite3")


def ttl() -> float:
    """How long a room lives, in seconds (`$DNNLAB_ROOM_TTL`)."""
    try:
        value = float(os.environ.get("DNNLAB_ROOM_TTL", DEFAULT_TTL))
    except ValueError:
        return DEFAULT_TTL
    return value if math.isfinite(value) and value > 0 else DEFAULT_TTL


class Store:
    """The rooms and their drawings in one database; safe to share between threads.

    Connections are pooled: a thread borrows one for a read or a transaction and gives it
    back, so a Streamlit script run (a thread of its own) does not open a connection each
    time. Concurrent writers (threads or processes) are serialised by the database itself.
    """

    def __init__(self, url: str | None = None, *, clock=time.time):
        self.url = url or default_url()
        self.dialect = "postgresql" if self.url.startswith(("postgresql://", "postgres://")) else "sqlite"
        self.clock = clock
        self._local = threading.local()  # the connection this thread has borrowed, if any
        self._pool: list = []
        self._pool_lock = threading.Lock()
        if self.dialect == "sqlite":
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # -- connections and portable SQL --

    def _connect(self):
        if self.dialect == "postgresql":
            import psycopg

            return psycopg.connect(self.url, connect_timeout=10, autocommit=True)
        path = self.url.removeprefix("sqlite:///")
        # timeout: how long a writer waits for another's lock (busy_timeout).
        # isolation_level=None: no implicit transactions; writes say BEGIN IMMEDIATE themselves.
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; WAL keeps it consistent
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    @contextlib.contextmanager
    def _connection(self):
        """A pooled connection for this thread (the same one within a transaction)."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._pool_lock:
            conn = self._pool.pop() if self._pool else None
        conn = conn or self._connect()
        self._local.conn = conn
        try:
            yield conn
        finally:
            self._local.conn = None
            if not getattr(conn, "closed", False):  # a Postgres connection can break
                with self._pool_lock:
                    self._pool.append(conn)

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.dialect == "postgresql" else statement

    @contextlib.contextmanager
    def _transaction(self):
        """A write transaction: commits on success, rolls back on error."""
        with self._connection() as conn:
            if self.dialect == "postgresql":
                with conn.transaction():
                    yield conn
                return
            # BEGIN IMMEDIATE takes the write lock first, so two writers queue on the busy
            # timeout instead of one failing to upgrade a read lock ("database is locked").
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _run(self, statement: str, params=()):
        """One statement of the transaction this thread is in."""
        return self._local.conn.execute(self._sql(statement), params)

    def _read(self, statement: str, params=()) -> list[tuple]:
        with self._connection() as conn:
            return conn.execute(self._sql(statement), params).fetchall()

    def _migrate(self) -> None:
        words = DIALECTS[self.dialect]
        with self._transaction():
            if self.dialect == "postgresql":  # one migrating process at a time
                self._run("SELECT pg_advisory_xact_lock(1729)")
            self._run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = self._run("SELECT version FROM schema_version").fetchall()
            version = rows[0][0] if rows else 0
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    self._run(statement.format(**words))
                if rows:
                    self._run("UPDATE schema_version SET version = ?", (number,))
                else:
                    self._run("INSERT INTO schema_version (version) VALUES (?)", (number,))
                    rows = [(number,)]

    def close(self) -> None:
        """Close the pooled connections (the store opens new ones if used again)."""
        with self._pool_lock:
            pool, self._pool = self._pool, []
        for conn in pool:
            conn.close()

    # -- rooms --

    def open_room(self, *, lifetime: float | None = None) -> Room:
        """A new room with a fresh code; expired rooms are removed first."""
        self.purge_expired()
        now = self.clock()
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            with self._transaction():
                inserted = self._run(
                    "INSERT INTO rooms (code, opened_at, expires_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (code) DO NOTHING",
                    (code, now, now + (lifetime or ttl())),
                ).rowcount
            if inserted:
                return Room(code, now, now + (lifetime or ttl()), None)
        raise RoomError("could not find a free room code")  # 32^5 codes: never in practice

    def room(self, code: str) -> Room | None:
        """The open room with this code, or None if there is none or it has expired."""
        rows = self._read(
            "SELECT code, opened_at, expires_at, asked, generation FROM rooms WHERE code = ? AND expires_at > ?",
            (valid_code(code), self.clock()),
        )
        return Room(*rows[0]) if rows else None

    def ask(self, code: str, digit: int | None) -> None:
        """Ask the room for this digit (None: students pick their own)."""
        value = None if digit is None else _digit(digit, "the digit asked for")
        with self._transaction():
            self._run("UPDATE rooms SET asked = ? WHERE code = ?", (value, valid_code(code)))

    def clear(self, code: str) -> None:
        """Delete the room's drawings; the room stays open, one generation on."""
        with self._transaction():
            self._delete_contents("room = ?", (valid_code(code),))
            self._run("UPDATE rooms SET generation = generation + 1 WHERE code = ?", (valid_code(code),))

    def close_room(self, code: str) -> None:
        with self._transaction():
            self._delete_contents("room = ?", (valid_code(code),))
            self._run("DELETE FROM rooms WHERE code = ?", (valid_code(code),))

    def purge_expired(self) -> int:
        """Delete every expired room with all it holds; the number of rooms deleted."""
        now = self.clock()
        with self._transaction():
            expired = "room IN (SELECT code FROM rooms WHERE expires_at <= ?)"
            self._delete_contents(expired, (now,))
            self._run(f"DELETE FROM phones WHERE {expired}", (now,))
            return self._run("DELETE FROM rooms WHERE expires_at <= ?", (now,)).rowcount

    def _delete_contents(self, where: str, params: tuple) -> None:
        # Explicit rather than ON DELETE CASCADE alone: the same on every database.
        self._run(f"DELETE FROM readings WHERE drawing_id IN (SELECT id FROM drawings WHERE {where})", params)
        self._run(f"DELETE FROM drawings WHERE {where}", params)

    # -- phones --

    def seen(self, code: str, session: str) -> None:
        """A phone's page spoke: it counts as connected for `CONNECTED_WINDOW` seconds."""
        code, now = valid_code(code), self.clock()
        with self._transaction():
            self._run(
                "INSERT INTO phones (room, session, seen_at) SELECT ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM rooms WHERE code = ? AND expires_at > ?) "
                "ON CONFLICT (room, session) DO UPDATE SET seen_at = excluded.seen_at",
                (code, _token(session, "the session"), now, code, now),
            )

    def connected(self, code: str, window: float = CONNECTED_WINDOW) -> int:
        rows = self._read(
            "SELECT COUNT(*) FROM phones WHERE room = ? AND seen_at > ?",
            (valid_code(code), self.clock() - window),
        )
        return int(rows[0][0])

    # -- drawings --

    def add(self, code: str, drawing: Drawing) -> bool:
        """Store a drawing in an open room: True if stored, False if this key was already
        stored (a re-send). RoomError if the room is gone or full, or the drawing invalid."""
        code, drawing = valid_code(code), drawing.validate()
        now = self.clock()
        with self._transaction():
            rows = self._run(
                "INSERT INTO drawings (room, drawing_key, sent_at, intended, image28, png) "
                "SELECT ?, ?, ?, ?, ?, ? WHERE EXISTS "
                "(SELECT 1 FROM rooms WHERE code = ? AND expires_at > ?) "
                "AND (SELECT COUNT(*) FROM drawings WHERE room = ?) < ? "
                "ON CONFLICT (drawing_key) DO NOTHING RETURNING id",
                (
                    code,
                    drawing.key,
                    now,
                    drawing.intended,
                    drawing.image28.tobytes(),
                    drawing.png,
                    code,
                    now,
                    code,
                    MAX_DRAWINGS_PER_ROOM,
                ),
            ).fetchall()
            if rows:
                for r in drawing.readings:
                    self._run(
                        "INSERT INTO readings (drawing_id, network, digit, confidence) VALUES (?, ?, ?, ?)",
                        (rows[0][0], r.network, r.digit, r.confidence),
                    )
                return True
        if self._read("SELECT 1 FROM drawings WHERE drawing_key = ?", (drawing.key,)):
            return False
        if self.room(code) is None:
            raise RoomError(f"room {code} is closed: ask the lecturer for the new code")
        raise RoomError(f"room {code} is full ({MAX_DRAWINGS_PER_ROOM} drawings)")

    def count(self, code: str) -> int:
        return int(self._read("SELECT COUNT(*) FROM drawings WHERE room = ?", (valid_code(code),))[0][0])

    def drawings(self, code: str, *, with_png: bool = False, after: int = 0) -> list[Drawing]:
        """The room's drawings in the order they were sent (PNGs only if asked for); only
        those stored after the drawing numbered `after`, for a reader refreshing its copy."""
        code = valid_code(code)
        png = "png" if with_png else "NULL"
        rows = self._read(
            f"SELECT id, drawing_key, intended, image28, {png}, sent_at FROM drawings "
            "WHERE room = ? AND id > ? ORDER BY id",
            (code, after),
        )
        readings: dict[int, list[NetworkReading]] = {}
        for drawing_id, network, digit, confidence in self._read(
            "SELECT r.drawing_id, r.network, r.digit, r.confidence FROM readings r "
            "JOIN drawings d ON d.id = r.drawing_id WHERE d.room = ? AND d.id > ?",
            (code, after),
        ):
            readings.setdefault(drawing_id, []).append(NetworkReading(network, digit, confidence))
        order = {name: i for i, name in enumerate(TALK_NETWORKS)}
        return [
            Drawing(
                key,
                intended,
                np.frombuffer(bytes(image), np.uint8).reshape(28, 28),
                bytes(png_bytes or b""),
                tuple(sorted(readings.get(drawing_id, []), key=lambda r: order.get(r.network, 99))),
                sent_at,
                drawing_id,
            )
            for drawing_id, key, intended, image, png_bytes, sent_at in rows
        ]
