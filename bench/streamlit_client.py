"""The websocket client of `bench/load.py` and `bench/locustfile.py`: Streamlit's protocol
lives in `tests/support_ws.py`, shared with the tests (which never import `bench/`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support_ws import Conversation, Placed, Run, Session, canvas_state  # noqa: E402

__all__ = ["Conversation", "Placed", "Run", "Session", "canvas_state"]
