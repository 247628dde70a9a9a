"""Following a run that another process owns: tail its event log, fold it into a RunState.

No Textual here: `RunFollower.poll()` is a plain function of what is on disk, so the tests
can drive it directly, and `follow()` runs it in a thread whenever watchfiles sees the run
directory change (or at least once a second, for the lock's heartbeat).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from watchfiles import watch

from ..core.events import EventBase
from ..core.jsonline import json_object
from ..core.models import TaskStatus
from ..core.redact import KEY_BEGIN, KEY_END, redact_secrets
from ..core.state import RunState, apply
from ..infra.session import LockInfo, pid_alive, read_lock
from ..infra.store import RunFiles, latest_run_id, orchestrator_dir, read_events, runs_dir

MAX_WARNINGS = 5
TAIL_BYTES = 4096


@dataclass(frozen=True)
class MonitorSnapshot:
    """Everything the monitor shows, as an immutable value handed from the follower thread
    to the UI. `new_events` are the events read since the previous snapshot; `live` is
    False for the history read when the monitor started (no bell for old news)."""

    workspace: Path
    has_orchestrator: bool = False
    run_id: str = ""
    state: RunState = field(default_factory=RunState)
    lock: LockInfo | None = None
    lock_pid_gone: bool = False
    output_tails: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    unknown_events: int = 0
    torn_tail: bool = False
    new_events: tuple[EventBase, ...] = ()
    live: bool = False

    def output_tail(self, task_id: str) -> str:
        return dict(self.output_tails).get(task_id, "")

    def same_picture(self, other: MonitorSnapshot | None) -> bool:
        """Nothing new to show since `other`: no new events and an equal picture."""
        if other is None or self.new_events:
            return False
        return replace(self, live=other.live) == replace(other, new_events=())


def newest_line(path: Path) -> str:
    """The last non-empty line of a log file, without control characters; '' if none."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ""
    end = KEY_END.search(data)
    if end and not KEY_BEGIN.search(data, 0, end.start()):
        data = data[end.end() :]  # the tail starts inside a private key block
    data = redact_secrets(data)  # the log may be raw (run.redact = false): the screen never is
    for raw in reversed(data.decode("utf-8", errors="replace").splitlines()):
        line = "".join(ch for ch in raw if ch.isprintable() or ch == "\t").strip()
        if line:
            return readable(line.replace("\t", " "))
    return ""


NESTED = ("request", "message", "item", "content", "input")  # where the words go on


def readable(line: str) -> str:
    """A JSON line of an agent CLI's stream (claude, codex, gemini log them raw) said in
    its words: `control_request · can_use_tool · Bash: ls -la`, not the JSON."""
    data = json_object(line)
    if data is None:
        return line
    words: list[str] = []
    detail = ""
    nodes: list[Any] = [data]
    while nodes:  # the object, then what it holds (a request, a message, its content)
        node = nodes.pop(0)
        if isinstance(node, list):
            nodes.extend(node[:3])
            continue
        if not isinstance(node, dict):
            continue
        for key in ("type", "subtype", "tool_name", "name"):
            value = node.get(key)
            if isinstance(value, str) and value and value not in words and len(words) < 4:
                words.append(value)
        for key in ("text", "result", "command", "description"):
            value = node.get(key)
            if not detail and isinstance(value, str) and value.strip():
                detail = " ".join(value.split())
        nodes.extend(node[k] for k in NESTED if k in node)
    said = " · ".join(words)
    return f"{said}: {detail}" if said and detail else said or detail or line


class RunFollower:
    """Tails `.orchestrator/runs/<latest>/events.jsonl` by byte offset. A half-written last
    line is left for the next poll; garbage lines become warnings; when a newer run starts,
    it switches to it and starts over."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.run_id = ""
        self.offset = 0
        self.state = RunState()
        self.warnings: list[str] = []
        self.unknown = 0
        self.polls = 0

    @property
    def files(self) -> RunFiles | None:
        return RunFiles(self.workspace, self.run_id) if self.run_id else None

    def switch_to(self, run_id: str) -> None:
        self.run_id = run_id
        self.offset = 0
        self.state = RunState()
        self.warnings = []
        self.unknown = 0

    def poll(self) -> MonitorSnapshot:
        """Read what is new on disk and return the whole picture."""
        self.polls += 1
        newest = latest_run_id(self.workspace)
        if newest and newest != self.run_id:
            self.switch_to(newest)
        new_events: list[EventBase] = []
        torn = False
        files = self.files
        if files is not None:
            read = read_events(files.events, self.offset)
            self.offset = read.valid_bytes
            for event in read.events:
                self.state = apply(self.state, event)
            new_events = read.events
            self.unknown += read.unknown
            self.warnings = [*self.warnings, *read.warnings][-MAX_WARNINGS:]
            try:
                torn = files.events.stat().st_size > self.offset
            except OSError:
                torn = False
        lock = read_lock(self.workspace)
        pid_gone = bool(lock and lock.host == socket.gethostname() and not pid_alive(lock.pid))
        return MonitorSnapshot(
            workspace=self.workspace,
            has_orchestrator=orchestrator_dir(self.workspace).is_dir(),
            run_id=self.run_id,
            state=self.state,
            lock=lock,
            lock_pid_gone=pid_gone,
            output_tails=self.output_tails(),
            warnings=tuple(self.warnings),
            unknown_events=self.unknown,
            torn_tail=torn,
            new_events=tuple(new_events),
            live=self.polls > 1,
        )

    def output_tails(self) -> tuple[tuple[str, str], ...]:
        files = self.files
        if files is None:
            return ()
        return tuple(
            (task.id, newest_line(files.log(task.id)))
            for task in self.state.tasks.values()
            if task.status == TaskStatus.RUNNING
        )

    def watch_target(self) -> Path:
        """The directory whose changes matter now: the runs directory once it exists."""
        runs = runs_dir(self.workspace)
        if runs.is_dir():
            return runs
        root = orchestrator_dir(self.workspace)
        return root if root.is_dir() else self.workspace


def follow(
    follower: RunFollower,
    publish: Callable[[MonitorSnapshot], None],
    stop: threading.Event,
    tick: float = 1.0,
) -> None:
    """Poll whenever the watched directory changes, and at least every `tick` seconds;
    publish each snapshot that differs from the last. Runs until `stop` is set."""
    last: MonitorSnapshot | None = None
    while not stop.is_set():
        target = follower.watch_target()
        changes = watch(
            target,
            stop_event=stop,
            recursive=target == runs_dir(follower.workspace),
            debounce=400,
            step=50,
            rust_timeout=int(tick * 1000),
            yield_on_timeout=True,
            raise_interrupt=False,
        )
        try:
            for _changed in changes:
                snapshot = follower.poll()
                if not snapshot.same_picture(last):
                    publish(snapshot)
                last = snapshot
                if follower.watch_target() != target:
                    break  # .orchestrator or runs/ appeared: watch the better place
        except OSError:
            pass  # the directory vanished under the watcher: look again below
        stop.wait(0.0 if follower.watch_target() != target else tick)
