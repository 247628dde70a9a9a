"""The bridge from the engine's threads to the app: every event becomes a message.

The engine calls `emit` from its own thread only. Agent output does not come this way in
the app: the log panes drain the engine's output buffers themselves (engine/output.py).
`post_message` is thread-safe; nothing here touches a widget.
"""

from __future__ import annotations

from textual.app import App
from textual.message import Message

from ..core.events import EventBase


class EngineSink:
    """An EventSink that posts `EngineSink.Event` to the app. It stays mute until the app
    has read the engine's state (`connect`), so no event is applied twice."""

    class Event(Message):
        """One engine event, on the UI thread."""

        def __init__(self, event: EventBase) -> None:
            super().__init__()
            self.event = event

    def __init__(self, app: App[object]) -> None:
        self.app = app
        self.connected = False

    def connect(self) -> None:
        self.connected = True

    def emit(self, event: EventBase) -> None:
        if self.connected:
            self.app.post_message(EngineSink.Event(event))
