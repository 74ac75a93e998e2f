"""A browser tab as a Streamlit server sees it: one websocket speaking Streamlit's protocol.

The load benchmark simulates students, each at their own laptop, and the adversarial
tests play a hostile one: what reaches the server is the same `BackMsg` a browser sends
(a rerun with the widget states and the URL's query) and the same `ForwardMsg`s come
back, but no browser burns the server's two cores rendering them. Used by `tests/` and
by `bench/` (tests never import `bench/`).

    session = await Session.open("http://127.0.0.1:8501", page="draw")
    canvas = session.element("bidi_component")          # the drawing canvas
    reply = await session.set_json(canvas, {...})        # as a stroke's mouse-up does
    reply.metric("Prediction")                           # '7'

`Conversation` is the protocol alone (requests out, frames in), for other transports.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


@dataclass
class Placed:
    """An element the server drew, with the fragment it belongs to (if any)."""

    element: object  # streamlit.proto.Element_pb2.Element
    fragment_id: str


@dataclass
class Run:
    """What one script (or fragment) run sent: its elements in order, and any exception."""

    elements: list[Placed] = field(default_factory=list)

    def of_type(self, kind: str) -> list[Placed]:
        return [p for p in self.elements if p.element.WhichOneof("type") == kind]

    def metric(self, label: str) -> str | None:
        for placed in self.of_type("metric"):
            if placed.element.metric.label == label:
                return placed.element.metric.body
        return None

    def exceptions(self) -> list[str]:
        return [p.element.exception.message for p in self.of_type("exception")]

    def alerts(self, kind: str = "") -> list[str]:
        """The text of every alert (`st.error`, `st.warning`, …), or of one kind ("error")."""
        wanted = {"error": 1, "warning": 2, "info": 3, "success": 4}.get(kind)
        return [
            p.element.alert.body for p in self.of_type("alert") if wanted in (None, p.element.alert.format)
        ]

    def markdown_sources(self) -> list[str]:
        """Every text the browser renders as markdown: markdown, captions, alerts, and
        the labels of metrics and widgets."""
        texts = []
        for placed in self.elements:
            element = placed.element
            kind = element.WhichOneof("type")
            if kind == "markdown":
                texts.append(element.markdown.body)
            elif kind == "alert":
                texts.append(element.alert.body)
            elif kind == "metric":
                texts += [element.metric.label, element.metric.body]
            elif kind is not None and hasattr(getattr(element, kind), "label"):
                texts.append(getattr(element, kind).label)
        return texts


class Conversation:
    """The protocol of one session, without its transport: the widget values this "browser"
    has set, the rerun request it sends, and the run the server's frames add up to.
    `Session` carries it over asyncio; `bench/locustfile.py` over a blocking socket."""

    def __init__(self, page: str, query: str = ""):
        self.page = page
        self.query = query  # the URL's query string, without "?"
        self.page_script_hash = ""
        self.widgets: dict[str, WidgetState] = {}  # the values this "browser" has set
        self.last = Run()
        self._running = Run()

    def element(self, kind: str) -> Placed:
        """The first element of this type in the last run."""
        found = self.last.of_type(kind)
        if not found:
            raise LookupError(f"no {kind} element on the page")
        return found[0]

    def set_json_value(self, placed: Placed, value: dict) -> str:
        """Set a JSON-valued widget (a custom component's state); return the fragment to rerun."""
        widget_id = getattr(placed.element, placed.element.WhichOneof("type")).id
        self.widgets[widget_id] = WidgetState(id=widget_id, json_value=json.dumps(value))
        return placed.fragment_id

    def click_value(self, placed: Placed) -> None:
        """Press a button (its trigger fires once, in the next rerun)."""
        widget_id = placed.element.button.id
        self.widgets[widget_id] = WidgetState(id=widget_id, trigger_value=True)

    def button(self, label: str) -> Placed:
        for placed in self.last.of_type("button"):
            if placed.element.button.label == label:
                return placed
        raise LookupError(f"no button {label!r} on the page")

    def rerun_request(self, fragment_id: str = "") -> bytes:
        """The `BackMsg` asking for a rerun with the current widget values."""
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_name = self.page
        state.page_script_hash = self.page_script_hash
        state.fragment_id = fragment_id
        state.widget_states.widgets.extend(self.widgets.values())
        # A button's trigger is sent once, as a browser does.
        self.widgets = {k: v for k, v in self.widgets.items() if v.WhichOneof("value") != "trigger_value"}
        self._running = Run()
        return message.SerializeToString()

    def receive(self, frame: bytes) -> Run | None:
        """Take one `ForwardMsg`; return the run it finishes, if it does."""
        message = ForwardMsg()
        message.ParseFromString(frame)
        kind = message.WhichOneof("type")
        if kind == "new_session":
            self.page_script_hash = message.new_session.page_script_hash
        elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            self._running.elements.append(Placed(message.delta.new_element, message.delta.fragment_id))
        elif kind == "script_finished":
            self.last = self._running
            return self.last
        return None


class Session(Conversation):
    """One Streamlit session over one websocket; `open` runs the first page load."""

    def __init__(self, socket, page: str, query: str = ""):
        super().__init__(page, query)
        self.socket = socket

    @classmethod
    async def open(cls, url: str, page: str = "", query: str = "") -> Session:
        socket = await websockets.connect(
            url.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],
            origin=url,
            max_size=None,
        )
        session = cls(socket, page, query)
        await session.rerun()
        return session

    async def close(self) -> None:
        await self.socket.close()

    async def set_json(self, placed: Placed, value: dict) -> Run:
        """Set a JSON-valued widget and rerun its fragment, as a stroke's mouse-up does."""
        return await self.rerun(fragment_id=self.set_json_value(placed, value))

    async def click(self, label: str) -> Run:
        """Press the button with this label and return the run it causes."""
        placed = self.button(label)
        self.click_value(placed)
        return await self.rerun(fragment_id=placed.fragment_id)

    async def rerun(self, fragment_id: str = "") -> Run:
        """Ask for a rerun with the current widget values; return what it drew."""
        await self.socket.send(self.rerun_request(fragment_id))
        async for frame in self.socket:
            if (run := self.receive(frame)) is not None:
                return run
        raise ConnectionError("the server closed the session")


def canvas_state(png: bytes) -> dict:
    """What the drawing canvas sends at mouse-up: its image as a PNG data URL."""
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    return {"drawing": {"raw": {"objects": [], "background": "#000000"}, "data": url}, "backgroundFit": None}
