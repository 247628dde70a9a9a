"""Agent output for live views: a bounded buffer per task, drained at the reader's pace.

The supervisor thread (agents/supervisor.py) adds each agent's display lines as it reads
them — already masked, once (agents/lines.py) — and nobody is woken: no batcher thread, no
timer of our own. A reader drains when it is ready to draw:

- the app claims the buffers (`claim()`) and its log pane timer drains them (100 ms), so a
  line crosses two threads: supervisor → UI;
- with no claimant (headless, tests), the engine thread drains them on each loop turn and
  shows the batches to its sinks (which then only ever hear from the engine thread).

A buffer keeps the newest MAX_LINES lines of its task; when a reader falls behind, the
batch it gets starts with "… N more lines in the log file …". Every byte is in the task's
log file anyway (written by the supervisor thread as it reads), which the monitor tails.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from ..core.events import TaskOutput

MAX_LINES = 2_000


class OutputBuffers:
    """Lines per task since the last drain; any thread adds, one reader drains."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        self.max_lines = max_lines
        self.lock = threading.Lock()
        self.pending: dict[str, deque[str]] = {}
        self.dropped: dict[str, int] = {}
        self.claimed_by = ""

    def add(self, task_id: str, lines: Sequence[str]) -> None:
        if not lines:
            return
        with self.lock:
            buffer = self.pending.get(task_id)
            if buffer is None:
                buffer = self.pending[task_id] = deque(maxlen=self.max_lines)
            overflow = len(buffer) + len(lines) - self.max_lines
            if overflow > 0:
                self.dropped[task_id] = self.dropped.get(task_id, 0) + overflow
            buffer.extend(lines)

    def drain(self) -> list[TaskOutput]:
        """Everything since the last drain, one batch per task, in the order tasks spoke."""
        with self.lock:
            pending, self.pending = self.pending, {}
            dropped, self.dropped = self.dropped, {}
        batches = []
        for task_id, lines in pending.items():
            shown = tuple(lines)
            if dropped.get(task_id):
                shown = (f"… {dropped[task_id]:,} more lines in the log file …", *shown)
            batches.append(TaskOutput(task=task_id, lines=shown))
        return batches

    def claim(self, reader: str) -> None:
        """`reader` (the app) drains from now on; the engine stops showing batches."""
        self.claimed_by = reader

    def release(self) -> None:
        self.claimed_by = ""

    @property
    def claimed(self) -> bool:
        return bool(self.claimed_by)
