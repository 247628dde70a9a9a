"""Who owns a workspace (the lock file and its heartbeat) and how others talk to the owner
(the inbox: one small JSON file per command, consumed by the engine exactly once)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from ..core.commands import ACTIONS, Action, Command, command_summary
from ..core.events import Actor
from ..core.models import Frozen
from .fsutil import atomic_write
from .store import orchestrator_dir

HEARTBEAT_SECONDS = 2.0
STALE_INTERVALS = 3


class LockInfo(Frozen):
    pid: int
    host: str
    run_id: str
    started_at: float
    heartbeat_at: float

    def age(self, now: float | None = None) -> float:
        return max(0.0, (now or time.time()) - self.heartbeat_at)


class LockHeld(Exception):
    """Another live orchestrator owns the workspace."""

    def __init__(self, holder: LockInfo) -> None:
        self.holder = holder
        super().__init__(
            f"another orchestrator runs here: pid {holder.pid} on {holder.host}, run "
            f"{holder.run_id}, heartbeat {holder.age():.0f} s ago. "
            "Follow it with `orchestrator-tui monitor`."
        )


def lock_path(workspace: Path) -> Path:
    return orchestrator_dir(workspace) / "lock"


def read_lock(workspace: Path) -> LockInfo | None:
    try:
        return LockInfo.model_validate_json(lock_path(workspace).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed orchestrator whose parent has not
    reaped it yet — a container's init may never — holds nothing: it is gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: the signal's answer stands
    return stat[stat.rfind(")") + 2 :][:1] != "Z"


def lock_is_stale(info: LockInfo, interval: float = HEARTBEAT_SECONDS) -> str | None:
    """Why a lock no longer protects anything, or None while its holder is alive."""
    if info.host == socket.gethostname() and not pid_alive(info.pid):
        return f"its process {info.pid} is gone"
    if info.age() > STALE_INTERVALS * interval:
        return f"its heartbeat is {info.age():.0f} s old"
    return None


@contextlib.contextmanager
def guard(workspace: Path) -> Iterator[None]:
    """Serialises lock decisions between processes on this host."""
    root = orchestrator_dir(workspace)
    root.mkdir(parents=True, exist_ok=True)
    with (root / "lock.guard").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class WorkspaceLock:
    """The lock file of one workspace, held by this process, kept fresh by a heartbeat."""

    def __init__(self, workspace: Path, run_id: str, interval: float = HEARTBEAT_SECONDS) -> None:
        self.workspace = workspace
        self.run_id = run_id
        self.interval = interval
        self.started_at = time.time()
        self.stop = threading.Event()
        self.lost = threading.Event()
        self.thread: threading.Thread | None = None

    def info(self) -> LockInfo:
        return LockInfo(
            pid=os.getpid(),
            host=socket.gethostname(),
            run_id=self.run_id,
            started_at=self.started_at,
            heartbeat_at=time.time(),
        )

    def acquire(self) -> str | None:
        """Take the lock; the notice says whose stale lock was taken over, if any.
        Raises LockHeld when a live orchestrator holds it."""
        notice = None
        with guard(self.workspace):
            holder = read_lock(self.workspace)
            if holder and not self.is_mine(holder):
                reason = lock_is_stale(holder, self.interval)
                if reason is None:
                    raise LockHeld(holder)
                notice = f"took over the lock of pid {holder.pid} (run {holder.run_id}): {reason}"
            atomic_write(lock_path(self.workspace), self.info().model_dump_json())
        self.thread = threading.Thread(target=self.beat, name="heartbeat", daemon=True)
        self.thread.start()
        return notice

    def is_mine(self, info: LockInfo) -> bool:
        return info.pid == os.getpid() and info.host == socket.gethostname()

    def beat(self) -> None:
        while not self.stop.wait(self.interval):
            with guard(self.workspace):
                holder = read_lock(self.workspace)
                if holder is not None and not self.is_mine(holder):
                    self.lost.set()
                    return
                with contextlib.suppress(OSError):  # a full disk: try again next beat
                    atomic_write(lock_path(self.workspace), self.info().model_dump_json())

    def release(self) -> None:
        self.stop.set()
        if self.thread:
            self.thread.join(timeout=5)
        with guard(self.workspace):
            holder = read_lock(self.workspace)
            if holder is not None and self.is_mine(holder):
                with contextlib.suppress(OSError):
                    lock_path(self.workspace).unlink()


def inbox_dir(workspace: Path) -> Path:
    return orchestrator_dir(workspace) / "inbox"


def submit(
    workspace: Path, action: str, task: str = "", feedback: str = "", by: Actor = "cli"
) -> Command:
    """Drop a command into the workspace's inbox (atomically: readers never see half)."""
    command = Command(
        id=secrets.token_hex(6),
        action=action,  # type: ignore[arg-type]  # validated by pydantic
        task=task,
        feedback=feedback,
        by=by,
        at=time.time(),
    )
    name = f"{time.time_ns():020d}-{command.id}.json"
    atomic_write(inbox_dir(workspace) / name, command.model_dump_json())
    return command


@dataclass(frozen=True)
class BadCommand:
    """An inbox file that is not a valid command; it is moved aside, never retried."""

    name: str
    reason: str


class Inbox:
    """The engine's side: take commands in arrival order, finish each exactly once."""

    def __init__(self, workspace: Path) -> None:
        self.dir = inbox_dir(workspace)  # made by the first submit

    def pending(self) -> list[tuple[Path, Command | BadCommand]]:
        items: list[tuple[Path, Command | BadCommand]] = []
        try:
            names = sorted(p for p in self.dir.iterdir() if p.suffix == ".json" and p.is_file())
        except OSError:
            return items
        for path in names:
            if path.name.startswith("."):
                continue
            try:
                items.append((path, Command.model_validate_json(path.read_bytes())))
            except ValidationError as exc:
                reason = exc.errors()[0]
                where = ".".join(str(p) for p in reason["loc"])
                items.append((path, BadCommand(path.name, f"{where}: {reason['msg']}")))
            except (OSError, ValueError) as exc:
                items.append((path, BadCommand(path.name, str(exc))))
        return items

    def done(self, path: Path, bad: bool = False) -> None:
        """Remove a consumed command; a bad one is kept in inbox/rejected/ for the user."""
        try:
            if bad:
                (self.dir / "rejected").mkdir(exist_ok=True)
                path.replace(self.dir / "rejected" / path.name)
            else:
                path.unlink()
        except OSError:
            pass  # already gone: another reader cannot exist, so it was us


__all__ = ["ACTIONS", "Action", "Command", "command_summary"]
