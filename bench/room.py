"""A room taking part: N students send drawings from their phones while the projector's
Room page refreshes.

Starts `streamlit run app.py` over a copy of the models and a fresh room database,
opens a room, and plays each student as what the server sees of a phone: a Streamlit
session over its own websocket (`streamlit_client.Session`) on the Join page. Every
`--every` seconds for `--minutes`, each student draws a digit (the canvas's PNG, as a
stroke's end sends it), waits for the four networks' readings, and presses Send. The
projector is one more session on the Room page, rerunning its live fragment every
`REFRESH` seconds as the browser's timer would.

Each drawing is unique (its size and position vary), so the database can be checked
against what was sent: every drawing stored exactly once, none extra. Prints errors
(an exception on a page, a failed session, a missing reading or acknowledgement, a
projector count that is not the database's), stroke → readings, Send → stored and
Send → counted on the projector latencies (median, p95, max), the projector's refresh
times, and the server's CPU, in all and per drawing.

    python bench/room.py [--students 200] [--every 10] [--minutes 2]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from streamlit.proto.Common_pb2 import StringArray
from streamlit.proto.WidgetStates_pb2 import WidgetState

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from draw_latency import digit_paths, render, summary  # noqa: E402
from streamlit_client import Session, canvas_state  # noqa: E402

from dnnlab import room  # noqa: E402
from tests.support import start_streamlit  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REFRESH = 3.0  # the Room page's run_every


def drawing_png(index: int) -> tuple[int, bytes]:
    """The `index`-th drawing of the run: a digit at its own size and position."""
    digit = index % 10
    dx, dy, grow = index % 31 - 15, (index // 31) % 31 - 15, (index // 961) % 41
    paths = digit_paths(digit, size=140 + grow, centre=(140 + dx, 140 + dy))
    buffer = io.BytesIO()
    Image.fromarray(render(paths)).save(buffer, format="PNG")
    return digit, buffer.getvalue()


def pixels_digest(png: bytes) -> str:
    """The same for the PNG sent and the PNG the server re-encoded from it: the pixels."""
    return hashlib.sha256(np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).tobytes()).hexdigest()


class Tally:
    def __init__(self):
        self.readings: list[float] = []  # stroke sent → four readings back, ms
        self.stored: list[float] = []  # Send pressed → "Sent" back (committed), ms
        self.stored_round: list[int] = []  # which round of drawings each of `stored` was
        self.refreshes: list[float] = []  # projector fragment rerun, ms
        self.sent: list[str] = []  # pixel digests of the drawings acknowledged
        self.pressed: dict[str, float] = {}  # pixel digest → when its Send was pressed
        self.projector_seen: list[tuple[float, int]] = []  # (when, drawings counted) per refresh
        self.errors: list[str] = []
        self.projector_counts: list[int] = []


def canvas_of(session: Session):
    """The drawing canvas among the page's components (the page also has a width probe)."""
    for placed in session.last.of_type("bidi_component"):
        if "canvas" in placed.element.bidi_component.component_name and "fixes" not in (
            placed.element.bidi_component.component_name
        ):
            return placed
    raise LookupError("no canvas on the Join page")


async def pick(session: Session, picker, digit: int):
    """Tap a digit in a segmented control (its value is the chosen option's label)."""
    widget_id = picker.element.button_group.id
    session.widgets[widget_id] = WidgetState(id=widget_id, string_array_value=StringArray(data=[str(digit)]))
    return await session.rerun(fragment_id=picker.fragment_id)


async def student(url: str, code: str, index: int, args, drawings, tally: Tally, start: float) -> None:
    await asyncio.sleep(index * args.arrival / max(1, args.students))
    try:
        session = await Session.open(url, page="join", query=f"room={code}")
        for n in range(args.drawings):
            due = start + args.arrival * index / max(1, args.students) + n * args.every
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            digit, png = drawings[index * args.drawings + n]
            sent = time.perf_counter()
            canvas = canvas_of(session)
            run = await session.set_json(canvas, canvas_state(png))
            tally.readings.append(1000 * (time.perf_counter() - sent))
            if [run.metric(name) for name in room.TALK_NETWORKS].count(None):
                tally.errors.append(f"student {index}: readings missing ({run.alerts()[:1]})")
                continue
            picker = run.of_type("button_group")[0]  # "I drew a": no digit was asked for
            await pick(session, picker, digit)
            pressed = time.perf_counter()
            run = await session.click(f"Send my {digit}")
            tally.stored.append(1000 * (time.perf_counter() - pressed))
            tally.stored_round.append(n)
            if any(f"Sent your {digit}" in a for a in run.alerts("success")):
                tally.sent.append(pixels_digest(png))
                tally.pressed[tally.sent[-1]] = pressed
                # This drawing's canvas and picker are gone: a browser stops sending their values.
                session.widgets.pop(canvas.element.bidi_component.id, None)
                session.widgets.pop(picker.element.button_group.id, None)
            else:
                tally.errors.append(f"student {index}: no acknowledgement ({run.alerts()[:1]})")
            for message in run.exceptions():
                tally.errors.append(f"student {index}: exception: {message[:160]}")
        await session.close()
    except Exception as e:  # one failed session is an error, not the end of the run
        tally.errors.append(f"student {index}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")


async def projector(url: str, code: str, tally: Tally, done: asyncio.Event, shown: asyncio.Event) -> None:
    try:
        session = await Session.open(url, page="room", query=f"room={code}")
        shown.set()  # the QR code is on the projector: the students can join
        live = next(p for p in session.last.of_type("metric") if p.element.metric.label == "Drawings")
        while not done.is_set():
            await asyncio.sleep(REFRESH)
            began = time.perf_counter()
            run = await session.rerun(fragment_id=live.fragment_id)
            tally.refreshes.append(1000 * (time.perf_counter() - began))
            tally.projector_counts.append(int(run.metric("Drawings")))
            tally.projector_seen.append((time.perf_counter(), tally.projector_counts[-1]))
            for message in run.exceptions():
                tally.errors.append(f"projector: exception: {message[:160]}")
        run = await session.rerun(fragment_id=live.fragment_id)  # after the last drawing
        tally.projector_counts.append(int(run.metric("Drawings")))
        tally.projector_seen.append((time.perf_counter(), tally.projector_counts[-1]))
        await session.close()
    except Exception as e:
        shown.set()  # the students come all the same
        tally.errors.append(f"projector: {type(e).__name__}: {str(e).splitlines()[0][:160]}")


async def lecture(url: str, code: str, args) -> Tally:
    tally = Tally()
    drawings = [drawing_png(i) for i in range(args.students * args.drawings)]
    done, opened = asyncio.Event(), asyncio.Event()
    shown = asyncio.create_task(projector(url, code, tally, done, opened))
    await opened.wait()
    start = time.perf_counter()
    await asyncio.gather(*(student(url, code, i, args, drawings, tally, start) for i in range(args.students)))
    done.set()
    await shown
    return tally


def on_projector(tally: Tally, stored: list[str]) -> list[float]:
    """Send pressed → the first projector refresh whose count includes the drawing, ms:
    the drawing stored `n`-th (database order) is on the projector once it counts `n`."""
    latencies = []
    for position, digest in enumerate(stored, start=1):
        seen = next((when for when, count in tally.projector_seen if count >= position), None)
        if digest in tally.pressed and seen is not None:
            latencies.append(1000 * max(0.0, seen - tally.pressed[digest]))
    return latencies


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between a student's drawings")
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--arrival", type=float, default=10.0, help="seconds over which students arrive")
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="the shipped models to serve")
    args = parser.parse_args()
    args.drawings = max(1, int(args.minutes * 60 / args.every))

    work = Path(tempfile.mkdtemp(prefix="dnnlab-bench-room-"))
    shutil.copytree(args.models, work / "models")
    database = work / "room.sqlite3"
    code = room.Store(str(database)).open_room().code
    process, url = start_streamlit({"DNNLAB_MODELS": str(work / "models"), "DNNLAB_ROOM_DB": str(database)})
    try:
        cpu_before, began = cpu_seconds(process.pid), time.perf_counter()
        tally = asyncio.run(lecture(url, code, args))
        cpu, wall = cpu_seconds(process.pid) - cpu_before, time.perf_counter() - began
        client_cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    finally:
        process.terminate()
        process.wait(timeout=30)

    with sqlite3.connect(database) as db:
        stored = [pixels_digest(png) for (png,) in db.execute("SELECT png FROM drawings ORDER BY id")]
    shutil.rmtree(work, ignore_errors=True)
    missing = len(set(tally.sent) - set(stored))
    duplicated = len(stored) - len(set(stored))
    extra = len(set(stored) - set(tally.sent))
    if missing or duplicated or extra:
        tally.errors.append(
            f"database: {missing} sent but missing, {duplicated} stored twice, {extra} never sent"
        )
    if tally.projector_counts and tally.projector_counts[-1] != len(stored):
        tally.errors.append(
            f"projector shows {tally.projector_counts[-1]} drawings, the database holds {len(stored)}"
        )

    print(
        f"{args.students} students (websocket sessions) each sending a drawing every {args.every:g} s "
        f"for {args.minutes:g} min, the projector refreshing every {REFRESH:g} s: {wall:.0f} s in all"
    )
    print(f"errors: {len(tally.errors)}")
    for e in tally.errors[:10]:
        print(f"  {e}")
    expected = args.students * args.drawings
    print(
        f"drawings: {expected} drawn, {len(tally.sent)} acknowledged, {len(stored)} in the database, "
        f"each exactly once: {not (missing or duplicated or extra) and len(stored) == len(tally.sent)}"
    )
    print(summary("stroke sent → four readings received", tally.readings))
    print(summary("Send pressed → stored (committed) and acknowledged", tally.stored))
    # The first round shares the server with 200 phones opening the page; later rounds do not.
    later = [ms for ms, n in zip(tally.stored, tally.stored_round, strict=True) if n > 0]
    if later and len(later) < len(tally.stored):
        print(summary("  the same after the first round (every phone joined)", later))
    print(
        summary(
            f"Send pressed → counted on the projector (it refreshes every {REFRESH:g} s)",
            on_projector(tally, stored),
        )
    )
    print(summary("projector refresh (live fragment rerun)", tally.refreshes))
    print(
        f"CPU over {wall:.0f} s: server {cpu:.0f} s ({100 * cpu / wall:.0f}% of one core, "
        f"{1000 * cpu / max(1, len(stored)):.0f} ms per drawing stored), "
        f"this benchmark's students {client_cpu:.0f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
