"""The bottom line: the monitor's keys."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

KEYS = (("a", "approve"), ("r", "reject"), ("q", "quit"))


def key_text() -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for number, (key, what) in enumerate(KEYS):
        if number:
            text.append("  ")
        text.append(f" {key} ", style="reverse bold")
        text.append(f" {what}")
    return text


class KeyBar(Static):
    """Always the last line of the pane."""

    def on_mount(self) -> None:
        self.update(key_text())
