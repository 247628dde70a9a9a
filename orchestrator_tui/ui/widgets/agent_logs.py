"""Agent log panes: one tab per task that ran, the selected one streaming its output.

Lines come from the engine's output buffers (engine/output.py), which this pane's own
timer drains every FLUSH_SECONDS (`source`), and go straight into the task's bounded
buffer (a deque: the oldest fall off). The pane on screen is told at most every
FLUSH_SECONDS that its buffer grew; it draws only the lines in sight, cleaning each one
(`strip_escapes`: no escape code or control character reaches the terminal) when it
first draws it. Hidden panes cost an append per line. The full output is always in the
task's log file; a pane opened on a task with no buffer yet starts from that file's tail.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical

from ...core.models import TaskStatus
from ..sanitize import strip_escapes
from .log_tabs import LogTabs
from .log_view import LogView

BUFFER_LINES = 2_000
FLUSH_SECONDS = 0.1
# Lines wait in the engine's buffer until this pane's next tick, but a task's end is said
# at once: a note such as "── ✗ failed: exit 1" waits this long so that it follows the
# task's last lines (which the tick drains first).
NOTE_DELAY = 0.15
MAX_TABS = 12
TAIL_BYTES = 256 * 1024


@dataclass
class Pane:
    task_id: str
    status: TaskStatus = TaskStatus.RUNNING
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=BUFFER_LINES))
    total: int = 0  # lines ever added (the buffer keeps the last BUFFER_LINES)
    fresh: bool = False  # lines added since the view last heard of them
    live: bool = False  # the app saw it start: its lines come from the buffers, not the file
    notes: list[tuple[float, str]] = field(default_factory=list)  # (due, line)


class AgentLogPanes(Vertical):
    """A strip of task tabs over one LogView. `log_file(task_id)` finds the full log of a
    task that has no buffer yet (resumed runs, tasks that ran before the app opened)."""

    def __init__(
        self, log_file: Callable[[str], Path | None] = lambda _task: None, *, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.log_file = log_file
        self.source: Callable[[], None] | None = None  # drains the engine's output buffers
        self.after_flush: Callable[[], None] | None = None  # the tiles: lines may have come
        self.panes: dict[str, Pane] = {}
        self.active: str | None = None
        self.lines_received = 0
        self.strip = LogTabs(id="log-tabs")
        self.view = LogView(id="log-view")

    def compose(self) -> ComposeResult:
        yield self.strip
        yield self.view

    def on_mount(self) -> None:
        self.set_interval(FLUSH_SECONDS, self.flush)
        self.draw_tabs()

    # ---- input from the app --------------------------------------------------------------

    def append(self, task_id: str, lines: Iterable[str]) -> None:
        """Add lines to the task's buffer; cheap, called for every output batch."""
        pane = self.pane(task_id)
        batch = lines if isinstance(lines, tuple | list) else list(lines)
        pane.lines.extend(batch)
        pane.total += len(batch)
        self.lines_received += len(batch)
        pane.fresh = True

    def task_started(self, task_id: str) -> None:
        pane = self.pane(task_id)
        pane.status = TaskStatus.RUNNING
        pane.live = True
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
            self.panes[task_id].notes.append((time.monotonic() + NOTE_DELAY, f"── {note}"))
        if self.panes[task_id].status != status:
            self.panes[task_id].status = status
            self.draw_tabs()

    def show(self, task_id: str, status: TaskStatus | None = None) -> None:
        """Show the task's pane (loading the tail of its log file when it has none)."""
        pane = self.pane(task_id)
        if status is not None:
            pane.status = status
        self.load_tail(pane)
        if self.active == task_id:
            return
        self.active = task_id
        pane.fresh = False
        self.view.show_lines(pane.lines, pane.total)
        self.draw_tabs()
        self.border_title = f"Agent output · {task_id}"

    def cycle(self, step: int, task_ids: Iterable[str] = ()) -> None:
        """The next (or previous) log: of `task_ids` (every task that ran, in DAG
        order — after a resume, not only those viewed since), else of the open panes."""
        ids = list(dict.fromkeys(task_ids)) or list(self.panes)
        if not ids:
            return
        index = ids.index(self.active) if self.active in ids else -1
        self.show(ids[(index + step) % len(ids)])

    # ---- drawing -------------------------------------------------------------------------

    def flush(self) -> None:
        """Add the notes that are due; tell the view on screen that its buffer grew (at
        most every FLUSH_SECONDS)."""
        if self.source is not None:
            self.source()  # the agents' lines since the last tick (calls append)
        now = time.monotonic()
        for task_id, pane in list(self.panes.items()):
            while pane.notes and pane.notes[0][0] <= now:
                self.append(task_id, [pane.notes.pop(0)[1]])
        pane = self.panes.get(self.active or "")
        if pane is not None and pane.fresh:
            pane.fresh = False
            self.view.lines_added(pane.total)
        if self.after_flush is not None:
            self.after_flush()

    def draw_tabs(self) -> None:
        self.strip.show([(t, p.status) for t, p in self.panes.items()], self.active)

    def on_log_tabs_tab_clicked(self, message: LogTabs.TabClicked) -> None:
        message.stop()
        self.show(message.task_id)

    # ---- bookkeeping ---------------------------------------------------------------------

    def filled(self, task_id: str) -> Pane:
        """The task's pane, with the tail of its log file when it has no lines yet (a
        resumed run): for the tiles, which read the buffers without showing a tab."""
        pane = self.pane(task_id)
        self.load_tail(pane)
        return pane

    def load_tail(self, pane: Pane) -> None:
        """A pane with no lines that the app did not see start (a resumed run, a task
        that ran before the app opened) starts from its log file's tail. One the app saw
        start gets its lines from the buffers: reading the file too would show its first
        lines twice."""
        if not pane.lines and not pane.live:
            tail = self.read_tail(pane.task_id)
            pane.lines.extend(tail)
            pane.total += len(tail)

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
        """The last line of the pane on show, as drawn (for tests and the benchmark)."""
        pane = self.panes.get(self.active or "")
        return strip_escapes(pane.lines[-1]) if pane is not None and pane.lines else ""
