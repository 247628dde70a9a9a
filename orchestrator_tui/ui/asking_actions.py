"""The app's side of the permission queue and the line to agents: the banner's bell, `w` (the
queue view, ui/screens/permissions.py), `m` say a message to the selected task's agent,
`i` interrupt its turn. A mixin of OrchestratorApp, like actions.py, which knows the app
only as `AppHost`."""

from __future__ import annotations

from .host import AppHost
from .screens.permissions import LineInputScreen, PermissionsScreen
from .widgets.asking_banner import AskingBanner, waiting_text


class AskingActions:
    """Mixed into OrchestratorApp; `self` is the app."""

    def on_asking_banner_waiting(self: AppHost, message: AskingBanner.Waiting) -> None:
        """A request has just started to wait: the bell and a toast (the banner says it)."""
        if self.options.config.notify.bell:
            self.bell()
        self.say(f"{waiting_text(message.permission)} — press w", title="Permission", timeout=8)

    def action_permissions(self: AppHost) -> None:
        if not isinstance(self.screen, PermissionsScreen):
            self.push_screen(PermissionsScreen())

    def action_say(self: AppHost) -> None:
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

    def action_interrupt(self: AppHost) -> None:
        task_id = self.selected_task
        if not task_id:
            self.say("Select a running task first.", severity="warning")
            return
        self.submit("interrupt", task=task_id)
