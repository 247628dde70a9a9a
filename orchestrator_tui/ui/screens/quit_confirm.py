"""Asked on `q` while agents run: stop them and leave the run resumable, or keep going."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class QuitScreen(ModalScreen[bool]):
    """Dismisses with True to stop and quit, False to keep going."""

    CSS_PATH = "quit_confirm.tcss"
    BINDINGS = [
        Binding("y,s", "answer(True)", "Stop and quit"),
        Binding("n,escape,k", "answer(False)", "Keep going"),
    ]

    def __init__(self, running: int) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        agents = "1 agent is" if self.running == 1 else f"{self.running} agents are"
        with Vertical(id="dialog"):
            yield Static(f"{agents} still running.", id="title")
            yield Static(
                "Stop them and quit? The run stays open: `orchestrator-tui run` resumes it, "
                "and interrupted tasks start again.",
                id="text",
            )
            with Horizontal(id="buttons"):
                yield Button("Stop and quit (y)", id="stop", variant="error")
                yield Button("Keep going (n)", id="keep", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def action_answer(self, stop: bool) -> None:
        self.dismiss(stop)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "stop")
