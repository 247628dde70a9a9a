"""Agent log panes: one tab per task that ran, the selected one streaming its output.

Lines arrive batched by the engine (every 50 ms); this widget coalesces again and draws
at most every FLUSH_SECONDS, keeps a bounded buffer per task, and renders only the pane
on screen — a hidden pane just stores raw lines until it is shown. Every line goes
through `clean_line`, so escape codes and control characters cannot reach the terminal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import RichLog, Static

from ...core.models import TaskStatus
from ..sanitize import clean_line
from ..view import TASK_ICONS

BUFFER_LINES = 2_000
FLUSH_SECONDS = 0.08
MAX_TABS = 12
TAIL_BYTES = 256 * 1024
# Used before the widget is first styled (lines written then keep their style).
FALLBACK_STYLES = {
    "agent-log-panes--error": Style(color="red", bold=True),
    "agent-log-panes--tool": Style(color="cyan"),
    "agent-log-panes--active": Style(reverse=True, bold=True),
}


@dataclass
class Pane:
    task_id: str
    status: TaskStatus = TaskStatus.RUNNING
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=BUFFER_LINES))
    pending: list[str] = field(default_factory=list)
    received: int = 0


class AgentLogPanes(Vertical):
    """A strip of task tabs over one RichLog. `log_file(task_id)` finds the full log of a
    task that has no buffer yet (resumed runs, tasks that ran before the app opened)."""

    COMPONENT_CLASSES = {
        "agent-log-panes--tab",
        "agent-log-panes--active",
        "agent-log-panes--running",
        "agent-log-panes--error",
        "agent-log-panes--tool",
    }

    class PaneShown(Message):
        """The log pane now shows this task (a tab click or a follow)."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(
        self, log_file: Callable[[str], Path | None] = lambda _task: None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.log_file = log_file
        self.panes: dict[str, Pane] = {}
        self.active: str | None = None
        self.tab_spans: list[tuple[int, int, str]] = []
        self.lines_received = 0
        self.lines_drawn = 0
        self.strip = Static(id="log-tabs", markup=False)
        self.view = RichLog(
            id="log-view", max_lines=BUFFER_LINES, wrap=False, markup=False, highlight=False
        )

    def compose(self) -> ComposeResult:
        yield self.strip
        yield self.view

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.draw_tabs()

    # ---- input from the app --------------------------------------------------------------

    def append(self, task_id: str, lines: Iterable[str]) -> None:
        """Queue lines; cheap, called for every output batch."""
        pane = self.pane(task_id)
        batch = list(lines)
        pane.pending.extend(batch)
        pane.received += len(batch)
        self.lines_received += len(batch)
        if len(pane.pending) > BUFFER_LINES:
            del pane.pending[:-BUFFER_LINES]

    def task_started(self, task_id: str) -> None:
        pane = self.pane(task_id)
        pane.status = TaskStatus.RUNNING
        current = self.panes.get(self.active or "")
        if current is None or current.status != TaskStatus.RUNNING:
            self.show(task_id)
        else:
            self.draw_tabs()

    def task_status(self, task_id: str, status: TaskStatus, note: str = "") -> None:
        """A task's state changed; `note` (e.g. "failed: exit 1") ends its pane's output."""
        if task_id not in self.panes:
            return
        if note:
            self.append(task_id, [f"── {note}"])
        if self.panes[task_id].status != status:
            self.panes[task_id].status = status
            self.draw_tabs()

    def show(self, task_id: str) -> None:
        """Show the task's pane (loading the tail of its log file when it has none)."""
        pane = self.pane(task_id)
        if not pane.lines and not pane.pending:
            pane.lines.extend(self.read_tail(task_id))
        if self.active == task_id:
            return
        self.active = task_id
        self.flush_pending(pane, draw=False)
        view = self.view
        view.clear()
        if pane.lines:
            view.write(self.styled_lines(pane.lines))
        self.lines_drawn += len(pane.lines)
        self.draw_tabs()
        self.border_title = f"Agent output · {task_id}"
        self.post_message(AgentLogPanes.PaneShown(task_id))

    def cycle(self, step: int) -> None:
        if not self.panes:
            return
        ids = list(self.panes)
        index = ids.index(self.active) if self.active in ids else -1
        self.show(ids[(index + step) % len(ids)])

    # ---- drawing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Move pending lines into the buffers; draw the active pane's new lines."""
        for pane in list(self.panes.values()):
            self.flush_pending(pane, draw=pane.task_id == self.active)

    def flush_pending(self, pane: Pane, draw: bool) -> None:
        if not pane.pending:
            return
        new, pane.pending = pane.pending, []
        pane.lines.extend(new)
        if draw:
            self.view.write(self.styled_lines(new[-BUFFER_LINES:]))
            self.lines_drawn += len(new)

    def styled_lines(self, lines: Iterable[str]) -> Text:
        error = self.style("agent-log-panes--error")
        tool = self.style("agent-log-panes--tool")
        return Text("\n").join(clean_line(line, error, tool) for line in lines)

    def draw_tabs(self) -> None:
        strip = Text(no_wrap=True, overflow="ellipsis")
        self.tab_spans = []
        if not self.panes:
            strip.append(" no agent has run yet", style=self.style("agent-log-panes--tab"))
        for task_id, pane in self.panes.items():
            label = f" {TASK_ICONS[pane.status]} {task_id} "
            if task_id == self.active:
                style = self.style("agent-log-panes--active")
            elif pane.status == TaskStatus.RUNNING:
                style = self.style("agent-log-panes--running")
            else:
                style = self.style("agent-log-panes--tab")
            start = len(strip)
            strip.append(label, style=style)
            self.tab_spans.append((start, len(strip), task_id))
            strip.append(" ")
        self.strip.update(strip)

    def style(self, name: str) -> Style:
        fallback = FALLBACK_STYLES.get(name, Style())
        return self.get_component_rich_style(name, partial=True, default=fallback)

    def on_click(self, event: events.Click) -> None:
        if event.widget is not self.strip:
            return
        x = event.screen_x - self.strip.content_region.x
        for start, end, task_id in self.tab_spans:
            if start <= x < end:
                self.show(task_id)
                return

    # ---- bookkeeping ---------------------------------------------------------------------

    def pane(self, task_id: str) -> Pane:
        pane = self.panes.get(task_id)
        if pane is None:
            pane = self.panes[task_id] = Pane(task_id)
            self.evict()
            self.draw_tabs()
        return pane

    def evict(self) -> None:
        """Keep at most MAX_TABS panes: drop the oldest that is neither running nor shown."""
        while len(self.panes) > MAX_TABS:
            for task_id, pane in self.panes.items():
                if pane.status != TaskStatus.RUNNING and task_id != self.active:
                    del self.panes[task_id]
                    break
            else:
                return

    def read_tail(self, task_id: str) -> list[str]:
        path = self.log_file(task_id)
        if path is None:
            return []
        try:
            with path.open("rb") as handle:
                size = handle.seek(0, 2)
                handle.seek(max(0, size - TAIL_BYTES))
                data = handle.read()
        except OSError:
            return []
        lines = data.decode("utf-8", errors="replace").splitlines()
        if size > TAIL_BYTES and lines:
            lines = [f"… earlier output in {path}", *lines[1:]]
        return lines[-BUFFER_LINES:]

    def newest_line(self) -> str:
        """The last line drawn in the visible pane (for tests and the flood benchmark)."""
        view = self.view
        if not view.lines:
            return ""
        return view.lines[-1].text.rstrip()
