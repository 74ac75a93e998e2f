"""How a phone finds the room: the join address the projector shows, and its QR code.

The server cannot know the name the room's phones reach it by (a laptop's LAN name or
address), so the lecturer can set it; it is checked like any typed-in value.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import segno

from dnnlab.room import RoomError, valid_code

MAX_ADDRESS = 200
# scheme://host[:port][/path]: letters, digits and the few characters a host, port or
# path needs; nothing that could end the URL early or start markup.
_ADDRESS = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?")


def address(value: str) -> str:
    """The server's address as phones reach it (`http://laptop.local:8501`), or a RoomError."""
    text = str(value).strip().rstrip("/")
    if len(text) > MAX_ADDRESS or not _ADDRESS.fullmatch(text) or not urlsplit(text).hostname:
        raise RoomError(
            "the address must look like http://laptop.local:8501 (the name or IP address "
            "phones in the room reach this server by)"
        )
    return text


def join_url(server: str, code: str) -> str:
    """The phone page of this room on this server."""
    return f"{address(server)}/join?room={valid_code(code)}"


def qr_png(url: str, scale: int = 10) -> bytes:
    """The QR code of `url` as a PNG, black on white, readable across a lecture hall.

    Made locally by segno (no network); error correction M survives a projector's glare.
    """
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()
