"""What the app's parts (its actions, its reactions to events) need of the app they are
mixed into: a protocol, so that the app imports its parts and never the other way round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from textual.notifications import SeverityLevel
from textual.screen import Screen

from ..core.models import Task
from ..core.state import RunState
from ..engine.pipeline import EngineOptions
from .engine_thread import EngineThread
from .handle import EngineHandle
from .plan_view import PlanView
from .screens.approval import ApprovalScreen
from .screens.run_screen import RunScreen


class AppHost(Protocol):
    options: EngineOptions
    engine: EngineHandle | None
    engine_thread: EngineThread | None
    run_screen: RunScreen
    gate_screen: ApprovalScreen | None
    gate_unseen: bool
    quitting: bool
    cursor_blink: bool
    clock: Callable[[], float]
    plan: PlanView  # the run screen's, set through the app

    @property
    def state(self) -> RunState: ...

    @property
    def definitions(self) -> dict[str, Task]: ...

    @property
    def handle(self) -> EngineHandle: ...

    @property
    def selected_task(self) -> str | None: ...

    @property
    def engine_alive(self) -> bool: ...

    def say(
        self,
        text: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None: ...

    def push_screen(
        self, screen: Screen[Any], callback: Callable[[Any], None] | None = None
    ) -> Any: ...

    def call_after_refresh(self, callback: Callable[..., Any], *args: Any) -> bool: ...

    def bell(self) -> None: ...

    @property
    def screen(self) -> Screen[Any]: ...

    def exit(self) -> None: ...

    def set_interval(self, interval: float, callback: Callable[[], Any]) -> Any: ...

    # the parts that call one another
    def submit(self, action: str, task: str = "", feedback: str = "") -> None: ...

    def open_gate(self) -> None: ...

    def gate_decided(self, decision: str | None) -> None: ...

    def ask_feedback(self) -> None: ...

    def open_detail(self, task_id: str | None, tab: str) -> None: ...

    def stop_and_quit(self) -> None: ...

    def show_waiting_gate(self) -> None: ...

    def show_summary(self) -> None: ...
