"""Many sessions at once on one real `streamlit run` server, each a websocket speaking
Streamlit's protocol (the client `bench/load.py` simulates a lecture hall with)."""

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from tests.support import digit_paths, render
from tests.support_ws import Session, canvas_state


def drawing(digit: int) -> dict:
    buffer = io.BytesIO()
    Image.fromarray(render(digit_paths(digit))).save(buffer, format="PNG")
    return canvas_state(buffer.getvalue())


STUDENTS, DRAWINGS = 10, 3


async def student(url: str, index: int) -> list[tuple[int, str | None, list[str]]]:
    session = await Session.open(url, page="draw")
    canvas = session.element("bidi_component")
    readings = []
    for n in range(DRAWINGS):
        digit = (index + n) % 10
        run = await session.set_json(canvas, drawing(digit))
        readings.append((digit, run.metric("Prediction"), run.exceptions()))
    await session.close()
    return readings


def test_ten_students_drawing_at_once_each_get_their_own_prediction(app_server):
    async def hall():
        return await asyncio.gather(*(student(app_server, i) for i in range(STUDENTS)))

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        sessions = pool.submit(asyncio.run, hall()).result(timeout=300)
    readings = [r for session in sessions for r in session]
    assert len(readings) == STUDENTS * DRAWINGS
    assert [e for _, _, e in readings if e] == []
    # Every session read its own digit (the shipped CNN reads these drawings right; a
    # mix-up between sessions would show here).
    assert [(str(digit), read) for digit, read, _ in readings] == [
        (str(digit), str(digit)) for digit, _, _ in readings
    ]
