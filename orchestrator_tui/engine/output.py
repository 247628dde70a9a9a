"""Coalesces agent output so that a flood of lines reaches live views as a few batches."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence

from ..core.events import EventBase, TaskOutput

FLUSH_SECONDS = 0.05
MAX_LINES_PER_BATCH = 400


class OutputBatcher:
    """Collects lines per task; a background thread emits them every 50 ms. The full output
    is in the task's log file, so a batch keeps only its newest lines and says how many it
    left out."""

    def __init__(self, emit: Callable[[EventBase], None]) -> None:
        self.emit = emit
        self.lock = threading.Lock()
        self.pending: dict[str, list[str]] = defaultdict(list)
        self.dropped: dict[str, int] = defaultdict(int)
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def add(self, task_id: str, lines: Sequence[str]) -> None:
        with self.lock:
            buffer = self.pending[task_id]
            buffer.extend(lines)
            if len(buffer) > MAX_LINES_PER_BATCH:
                self.dropped[task_id] += len(buffer) - MAX_LINES_PER_BATCH
                del buffer[:-MAX_LINES_PER_BATCH]

    def flush(self) -> None:
        with self.lock:
            batches, self.pending = dict(self.pending), defaultdict(list)
            dropped, self.dropped = dict(self.dropped), defaultdict(int)
        for task_id, lines in batches.items():
            if dropped.get(task_id):
                lines = [f"… {dropped[task_id]:,} more lines in the log file …", *lines]
            if lines:
                self.emit(TaskOutput(task=task_id, lines=tuple(lines)))

    def start(self) -> None:
        self.thread = threading.Thread(target=self.loop, name="output-batcher", daemon=True)
        self.thread.start()

    def loop(self) -> None:
        while not self.stopped.wait(FLUSH_SECONDS):
            self.flush()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread:
            self.thread.join(timeout=2)
        self.flush()
