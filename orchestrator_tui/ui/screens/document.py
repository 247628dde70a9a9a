"""A Markdown document over the board: a stage's result (click a stage) or the run's
summary.md when the run completes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static


class DocumentScreen(ModalScreen[None]):
    CSS_PATH = "document.tcss"
    BINDINGS = [Binding("escape,q,enter", "close", "Close")]

    def __init__(self, title: str, markdown: str) -> None:
        super().__init__()
        self.title_text = title
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="title", markup=False)
            with VerticalScroll(id="body"):
                yield Markdown(self.markdown)
            yield Static("esc closes", id="hint")

    def on_mount(self) -> None:
        self.query_one("#body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
