"""The prompt for a rejection's feedback: what the stage should do differently."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from ...core.models import StageName


class FeedbackDialog(ModalScreen[str | None]):
    """Dismisses with the feedback text, or None when cancelled with Escape."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, stage: StageName | None, question: str = "") -> None:
        super().__init__()
        self.stage = stage
        # a question of its own (a permission's deny reason): an empty answer is allowed
        self.question = question

    def compose(self) -> ComposeResult:
        title = (
            self.question or f"Reject {self.stage.title if self.stage else ''}: what should change?"
        )
        with Vertical(id="feedback-box"):
            yield Label(title, id="feedback-title", markup=False)
            yield Input(placeholder="feedback for the agent", id="feedback-input")
            yield Label("enter send · esc cancel", id="feedback-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        feedback = event.value.strip()
        if not feedback and self.question:
            self.dismiss("")
            return
        if not feedback:
            self.query_one("#feedback-hint", Label).update("say what should change (esc cancels)")
            return
        self.dismiss(feedback)

    def action_cancel(self) -> None:
        self.dismiss(None)
