"""The reject dialog: multi-line feedback that goes into the stage's (or task's) rerun.
Dismisses with the text, or None when cancelled."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static, TextArea


class FeedbackScreen(ModalScreen[str | None]):
    CSS_PATH = "feedback.tcss"
    BINDINGS = [
        Binding("ctrl+s", "send", "Send", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, what: str, cursor_blink: bool = True, hint: str = "") -> None:
        super().__init__()
        self.what = what
        self.hint = hint or "The rerun gets this text in its prompt. ctrl+s sends, esc cancels."
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Reject {self.what}: what should change?", id="title")
            yield Static(self.hint, id="hint")
            area = TextArea(id="feedback", soft_wrap=True, show_line_numbers=False)
            area.cursor_blink = self.cursor_blink
            yield area
            yield Static("", id="problem")
            with Horizontal(id="buttons"):
                yield Button("Send (ctrl+s)", id="send", variant="warning")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_send(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.query_one("#problem", Static).update("Write what should change first.")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "send":
            self.action_send()
        else:
            self.action_cancel()
