""".orchestrator/runs/<id>/: the append-only event log, the state snapshot and reports.

events.jsonl is the truth; state.json is a snapshot derivable from it (rewritten atomically
for readers such as `status`). Reading tolerates a torn last line and garbage lines: they are
skipped and reported as warnings, never fatal.

Fault injection: with ORCH_KILL_AFTER_EVENT=N in its environment, the process SIGKILLs
itself right after it has written the event whose seq is N — a crash at exactly that event
boundary, for bench/crash_sweep.py and tests/test_crash_sweep.py — or ORCH_KILL_DELAY
seconds later (a crash while what that event started, say a stage's pytest, runs). Unset
(the default) it costs one comparison per event.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..core.events import EventBase, dump_event, load_event
from ..core.state import RunState, apply
from .fsutil import DiskError, atomic_write, describe_os_error

ORCHESTRATOR_DIR = ".orchestrator"
KILL_AFTER_EVENT = int(os.environ.get("ORCH_KILL_AFTER_EVENT", "0") or 0)  # see the docstring
KILL_DELAY = float(os.environ.get("ORCH_KILL_DELAY", "0") or 0)


def orchestrator_dir(workspace: Path) -> Path:
    return workspace / ORCHESTRATOR_DIR


def runs_dir(workspace: Path) -> Path:
    return orchestrator_dir(workspace) / "runs"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def latest_run_id(workspace: Path) -> str | None:
    """The newest run that has an event log."""
    root = runs_dir(workspace)
    if not root.is_dir():
        return None
    runs = sorted(p.name for p in root.iterdir() if (p / "events.jsonl").is_file())
    return runs[-1] if runs else None


@dataclass(frozen=True)
class RunFiles:
    """Where one run keeps its files."""

    workspace: Path
    run_id: str

    @functools.cached_property
    def dir(self) -> Path:  # once: every event and every agent start asks
        return runs_dir(self.workspace) / self.run_id

    @property
    def events(self) -> Path:
        return self.dir / "events.jsonl"

    @property
    def state(self) -> Path:
        return self.dir / "state.json"

    @property
    def frozen_plan(self) -> Path:
        return self.dir / "plan.json"

    @functools.cached_property
    def logs(self) -> Path:
        return self.dir / "logs"

    @functools.cached_property
    def prompts(self) -> Path:
        return self.dir / "prompts"

    def log(self, task_id: str) -> Path:
        return self.logs / f"{safe_name(task_id)}.log"

    def prompt(self, task_id: str) -> Path:
        return self.prompts / f"{safe_name(task_id)}.md"

    def report(self, name: str) -> Path:
        return self.dir / name


def safe_name(task_id: str) -> str:
    """A task ID as a file or branch name component: no separators, no leading dots."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in task_id)
    return cleaned.lstrip(".") or "_"


@dataclass
class LogRead:
    events: list[EventBase] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    valid_bytes: int = 0
    unknown: int = 0  # events of a kind this version does not know (a newer writer)


def read_events(path: Path, start: int = 0, kinds: frozenset[str] = frozenset()) -> LogRead:
    """Events from byte offset `start`. A last line without its newline is left for later
    (a writer may be mid-line); `valid_bytes` says how far complete lines reach. With
    `kinds`, only events of those kinds are read: a line that does not name one is not
    parsed (nor counted or warned about)."""
    names = [f'"{kind}"'.encode() for kind in kinds]
    result = LogRead(valid_bytes=start)
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return result
    offset = start
    lines = data.split(b"\n")
    for number, raw in enumerate(lines[:-1]):
        offset += len(raw) + 1
        if not raw.strip() or (names and not any(name in raw for name in names)):
            continue
        try:
            event = load_event(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            result.warnings.append(f"{path.name}: skipped a bad line ({exc}) at entry {number + 1}")
            continue
        if event is None:
            result.unknown += 1
        elif not kinds or event.kind in kinds:
            result.events.append(event)
    result.valid_bytes = offset
    return result


def kill_point() -> None:
    """Fault injection (the module docstring): SIGKILL this process, now or after a delay."""
    kill = functools.partial(os.kill, os.getpid(), signal.SIGKILL)
    if KILL_DELAY <= 0:
        kill()
    timer = threading.Timer(KILL_DELAY, kill)
    timer.daemon = True
    timer.start()


class EventLog:
    """Appends events durably: one JSON line each, flushed at once (a killed process loses
    nothing) and fsynced (an OS crash loses nothing) — per event, or in group commits:
    events appended inside `batch()` are fsynced when it ends, at most once per
    SYNC_SECONDS (an OS crash loses at most that much; `sync_in` says when the tail is due,
    and the engine's loop never waits past it)."""

    SYNC_SECONDS = 0.05

    def __init__(self, files: RunFiles) -> None:
        self.files = files
        files.dir.mkdir(parents=True, exist_ok=True)
        self.repair_torn_tail()
        self.handle = files.events.open("ab")
        self.batch_depth = 0
        self.unsynced = False
        self.synced_at = 0.0

    def repair_torn_tail(self) -> str | None:
        """Cut a torn last line (a crash mid-write) so the next append starts clean."""
        path = self.files.events
        if not path.exists() or path.stat().st_size == 0:
            return None
        with path.open("rb+") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) == b"\n":
                return None
            data = path.read_bytes()
            cut = data.rfind(b"\n") + 1
            handle.truncate(cut)
        return f"dropped a torn last line of {path.name}"

    def append(self, event: EventBase) -> None:
        try:
            self.handle.write(dump_event(event).encode("utf-8") + b"\n")
            self.handle.flush()
            self.unsynced = True
            if KILL_AFTER_EVENT and event.seq == KILL_AFTER_EVENT:
                kill_point()
            if not self.batch_depth:
                self.sync()
        except OSError as exc:
            raise DiskError(exc.errno, describe_os_error(exc, self.files.events)) from exc

    def sync(self) -> None:
        if self.unsynced:
            os.fsync(self.handle.fileno())
            self.unsynced = False
            self.synced_at = time.monotonic()

    def sync_in(self) -> float:
        """Seconds until the unsynced tail must be fsynced (inf: nothing waits)."""
        if not self.unsynced:
            return float("inf")
        return max(0.0, self.synced_at + self.SYNC_SECONDS - time.monotonic())

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: the events appended inside share one fsync at the end, or at the
        end of a later batch when the last fsync is less than SYNC_SECONDS old."""
        self.batch_depth += 1
        try:
            yield
        finally:
            self.batch_depth -= 1
            if not self.batch_depth and self.sync_in() == 0.0:
                try:
                    self.sync()
                except OSError as exc:
                    raise DiskError(exc.errno, describe_os_error(exc, self.files.events)) from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sync()
        self.handle.close()


class RunStore:
    """The sink that persists: log every event, keep state.json (a snapshot) current.

    A snapshot is written soon after a moment worth one (a gate, a stage's end, the run's
    end, a pause: SNAPSHOT_KINDS) and otherwise at most every SNAPSHOT_SECONDS; never more
    often than once per SNAPSHOT_SHARE times what the last one took (a 10,000-task state
    takes ~0.1 s: the log is the truth meanwhile). A moment that comes sooner is written
    when that pace allows: `sync_in` counts it, so the engine's loop wakes for it."""

    SNAPSHOT_SECONDS = 5.0
    SNAPSHOT_SHARE = 20

    def __init__(self, files: RunFiles, state: RunState | None = None) -> None:
        self.files = files
        self.log = EventLog(files)
        self.state = state or RunState()
        self.snapshot_due = 0.0  # the next routine snapshot
        self.snapshot_paced = 0.0  # the soonest the next one may be written
        self.snapshot_wanted = False  # a moment worth a snapshot came since the last
        self.snapshotted: RunState | None = None  # the state the last snapshot holds

    def emit(self, event: EventBase) -> None:
        """Fold and record an event (for callers that do not keep a state of their own)."""
        if event.persisted:
            self.record(event, apply(self.state, event))

    def record(self, event: EventBase, state: RunState) -> None:
        """Record an event and the state it leads to, as folded by the caller."""
        self.log.append(event)
        self.state = state
        self.snapshot_wanted = self.snapshot_wanted or event.kind in SNAPSHOT_KINDS
        if not self.log.batch_depth:
            self.snapshot_if_due()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        with self.log.batch():
            yield
        if not self.log.batch_depth:
            self.snapshot_if_due()

    def sync_in(self) -> float:
        """Seconds until the log's tail must be fsynced or a wanted snapshot written."""
        if not self.snapshot_wanted:
            return self.log.sync_in()
        return min(self.log.sync_in(), max(0.0, self.snapshot_paced - time.monotonic()))

    def snapshot_if_due(self) -> None:
        now = time.monotonic()
        if now >= self.snapshot_due or (self.snapshot_wanted and now >= self.snapshot_paced):
            self.write_snapshot()

    def write_snapshot(self) -> None:
        started = time.monotonic()
        atomic_write(self.files.state, self.state.model_dump_json(indent=1), durable=False)
        took = time.monotonic() - started
        self.snapshot_paced = started + self.SNAPSHOT_SHARE * took
        self.snapshot_due = started + max(self.SNAPSHOT_SECONDS, self.SNAPSHOT_SHARE * took)
        self.snapshot_wanted = False
        self.snapshotted = self.state

    def close(self) -> None:
        try:
            if self.state is not self.snapshotted:  # the run's end was written already
                self.write_snapshot()
        finally:
            self.log.close()


SNAPSHOT_KINDS = frozenset(
    {"gate_opened", "gate_decided", "stage_finished", "run_finished", "run_paused", "run_resumed"}
)


def load_run(files: RunFiles) -> tuple[RunState, list[str]]:
    """Replay a run's log: the state and any warnings about lines that were skipped."""
    read = read_events(files.events)
    state = RunState()
    for event in read.events:
        state = apply(state, event)
    size = files.events.stat().st_size if files.events.exists() else 0
    if size > read.valid_bytes:
        read.warnings.append(f"{files.events.name}: ignored a torn last line")
    return state, read.warnings


def read_snapshot(files: RunFiles) -> RunState | None:
    """state.json when it is readable and valid; None otherwise (replay the log instead)."""
    try:
        return RunState.model_validate(json.loads(files.state.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
