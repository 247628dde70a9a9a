"""The approval modal: what a stage produced, and the decision — approve, reject with
feedback, or for a failed stage retry or skip. Dismisses with the decision (or None to
decide later)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown, Static

from ...core.models import StageName


class ApprovalScreen(ModalScreen[str | None]):
    CSS_PATH = "approval.tcss"
    BINDINGS = [
        Binding("a", "decide('approve')", "Approve"),
        Binding("r", "decide('reject')", "Reject…"),
        Binding("R", "decide('retry')", "Retry stage"),
        Binding("s", "decide('skip')", "Skip stage"),
        Binding("escape", "decide(None)", "Later"),
        Binding("q", "app.request_quit", "Quit"),
    ]

    def __init__(self, stage: StageName, body: str, failed: bool) -> None:
        super().__init__()
        self.stage = stage
        self.body = body
        self.failed = failed

    def compose(self) -> ComposeResult:
        verb = "failed — decide" if self.failed else "done — approve?"
        with Vertical(id="dialog"):
            yield Static(f"Stage {self.stage.number} · {self.stage.title} {verb}", id="title")
            with VerticalScroll(id="body"):
                yield Markdown(self.body, id="evidence")
            with Horizontal(id="buttons"):
                if not self.failed:
                    yield Button("Approve (a)", id="approve", variant="success")
                yield Button("Reject… (r)", id="reject", variant="warning")
                yield Button(
                    "Retry (R)", id="retry", variant="primary" if self.failed else "default"
                )
                yield Button("Skip (s)", id="skip")
                yield Button("Later (esc)", id="later")

    def on_mount(self) -> None:
        self.query_one("#body").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "decide" and parameters == ("approve",) and self.failed)

    def action_decide(self, decision: str | None) -> None:
        self.dismiss(decision)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None if event.button.id == "later" else event.button.id)
