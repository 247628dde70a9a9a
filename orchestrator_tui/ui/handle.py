"""What the app needs from an engine: the real core.pipeline.Engine, or a test's fake."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..core.events import EventSink
from ..core.models import Plan
from ..core.state import RunState
from ..engine.pipeline import EngineOptions
from ..infra.store import RunFiles


class EngineHandle(Protocol):
    """The engine's public face. `state` is read only on the UI thread before the engine
    thread starts (to seed the view); afterwards every change arrives as an event."""

    options: EngineOptions
    state: RunState
    files: RunFiles | None
    plan: Plan | None

    def open(self) -> str: ...

    def run(self) -> str: ...

    def submit(self, action: str, task: str = "", feedback: str = "", by: str = "app") -> Any: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


EngineFactory = Callable[[EngineOptions, Sequence[EventSink]], EngineHandle]
