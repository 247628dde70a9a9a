"""The app's side of the permission queue and the line to agents: the banner's bell, `w` (the
queue view, ui/screens/permissions.py), `m` say a message to the selected task's agent,
`i` interrupt its turn. A mixin of OrchestratorApp, like actions.py, which knows the app
only as `AskingHost`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from textual.notifications import SeverityLevel
from textual.screen import Screen

from ..core.state import RunState
from ..engine.pipeline import EngineOptions
from .screens.permissions import LineInputScreen, PermissionsScreen
from .screens.run_screen import RunScreen
from .widgets.asking_banner import AskingBanner, waiting_text


class AskingHost(Protocol):
    """What these actions need of the app they are mixed into."""

    options: EngineOptions
    state: RunState
    run_screen: RunScreen

    @property
    def screen(self) -> Screen[Any]: ...

    @property
    def selected_task(self) -> str | None: ...

    def bell(self) -> None: ...

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

    def submit(self, action: str, task: str = "", feedback: str = "") -> None: ...


class AskingActions:
    """Mixed into OrchestratorApp; `self` is the app."""

    def on_asking_banner_waiting(self: AskingHost, message: AskingBanner.Waiting) -> None:
        """A request has just started to wait: the bell and a toast (the banner says it)."""
        if self.options.config.notify.bell:
            self.bell()
        self.say(f"{waiting_text(message.permission)} — press w", title="Permission", timeout=8)

    def action_permissions(self: AskingHost) -> None:
        if not isinstance(self.screen, PermissionsScreen):
            self.push_screen(PermissionsScreen())

    def action_say(self: AskingHost) -> None:
        task_id = self.selected_task
        if not task_id:
            self.say("Select a running task first.", severity="warning")
            return

        def send(text: str | None) -> None:
            if text:
                self.submit("say", task=task_id, feedback=text)

        self.push_screen(
            LineInputScreen(f"Say to {task_id}'s agent", "a message into its session"), send
        )

    def action_interrupt(self: AskingHost) -> None:
        task_id = self.selected_task
        if not task_id:
            self.say("Select a running task first.", severity="warning")
            return
        self.submit("interrupt", task=task_id)
