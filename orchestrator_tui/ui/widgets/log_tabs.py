"""The strip of task tabs over the agent log: which tasks have a pane, their state, and
the one on show. It draws itself (a repaint, never a layout) because it changes often."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from ...core.models import TaskStatus
from ..view import TASK_ICONS


class LogTabs(Widget):
    COMPONENT_CLASSES = {"log-tabs--tab", "log-tabs--active", "log-tabs--running"}

    class TabClicked(Message):
        """The user clicked the tab of a task."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tabs: Sequence[tuple[str, TaskStatus]] = ()
        self.active: str | None = None
        self.spans: list[tuple[int, int, str]] = []

    def show(self, tabs: Sequence[tuple[str, TaskStatus]], active: str | None) -> None:
        if (tuple(tabs), active) != (tuple(self.tabs), self.active):
            self.tabs, self.active = tuple(tabs), active
            self.refresh()

    def render(self) -> Text:
        strip = Text(no_wrap=True, overflow="ellipsis", end="")
        self.spans = []
        if not self.tabs:
            strip.append(" no agent has run yet", style=self.style("tab"))
        for task_id, status in self.tabs:
            if task_id == self.active:
                style = self.style("active")
            elif status == TaskStatus.RUNNING:
                style = self.style("running")
            else:
                style = self.style("tab")
            start = len(strip)
            strip.append(f" {TASK_ICONS[status]} {task_id} ", style=style)
            self.spans.append((start, len(strip), task_id))
            strip.append(" ")
        return strip

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"log-tabs--{name}", partial=True, default=Style())

    def on_click(self, event: events.Click) -> None:
        for start, end, task_id in self.spans:
            if start <= event.x < end:
                self.post_message(LogTabs.TabClicked(task_id))
                return
