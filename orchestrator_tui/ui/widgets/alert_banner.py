"""A banner over the panes for what must not be missed: an invalid PLAN.md (the last good
plan stays in force) or an engine that stopped with an error. Hidden when all is well."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class AlertBanner(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.messages: tuple[str, ...] = ()

    def on_mount(self) -> None:
        self.display = False

    def show(self, messages: tuple[str, ...]) -> None:
        if messages == self.messages:
            return
        self.messages = messages
        self.display = bool(messages)
        self.update(Text("\n").join(Text(f" ⚠ {m}") for m in messages))
