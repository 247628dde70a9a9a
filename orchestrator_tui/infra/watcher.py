"""The file watcher: PLAN.md and CLAUDE.md edits, from a thread of its own (watchfiles)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

DEBOUNCE_MS = 50


class PlanWatcher:
    """Watches the directories of the given files (editors save by rename) and calls
    `on_change(file name)` for each changed file, from its own thread."""

    def __init__(self, files: Sequence[Path], on_change: Callable[[str], None]) -> None:
        self.files = [f.resolve() for f in files]
        self.on_change = on_change
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.loop, name="plan-watcher", daemon=True)
        self.thread.start()

    def loop(self) -> None:
        from watchfiles import watch

        names = {f.name for f in self.files}
        watched = {str(f) for f in self.files}
        dirs = sorted({str(f.parent) for f in self.files if f.parent.is_dir()})
        if not dirs:
            return
        for changes in watch(
            *dirs,
            watch_filter=lambda _change, path: path in watched,
            stop_event=self.stop_event,
            debounce=DEBOUNCE_MS,
            step=20,
            rust_timeout=200,
            yield_on_timeout=False,
            recursive=False,
        ):
            for name in sorted({Path(path).name for _change, path in changes} & names):
                self.on_change(name)

    def stop(self, wait: bool = True) -> None:
        """Ask the thread to end (it sees the request within its 20 ms step); with `wait`,
        also wait for it (up to 2 s). Asking first and waiting later lets the caller do
        its own closing meanwhile."""
        self.stop_event.set()
        if self.thread and wait:
            self.thread.join(timeout=2)
