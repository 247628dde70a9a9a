"""An agent's process group: signalled as a whole, killed with a grace period, no orphans.

The runner starts every agent with start_new_session, so the agent and everything it
starts (unless they start sessions of their own) share one group whose id is the agent's
pid. Killing the group reaches grandchildren and orphans that outlived their parent.

Such a group outlives the orchestrator when the orchestrator is killed (SIGKILL, the OOM
killer): `write_pidfile` therefore also hands the group to this process's lifeline
(`LIFELINE`, lifeline.py --groups), which kills it when this process dies; the pidfile lets
the next start kill what is left if the lifeline died too. A pidfile is named by its place
in the run's folder (logs/T1.pid) and kept in a private folder in memory (`runtime_dir`).
Stdlib only: lifeline.py imports this module by path (from agents/lifeline.py). It lives
in infra so that both the agents' runner and the stage tools (stages/tools.py) use the one
lifeline; `agents.procgroup` is the same module.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import os
import secrets
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

KILL_GRACE = 3.0


def group_members(pgid: int) -> list[int] | None:
    """Pids of the live processes in group `pgid` (Linux /proc); None where unknown."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class Leader(Protocol):
    """The group's first process, as this module uses it (a Popen, agents/launch.Child)."""

    pid: int

    def wait(self, timeout: float | None = None) -> int: ...


class ProcessGroup:
    """The agent's process group: signalled as a whole, never by name."""

    def __init__(self, process: Leader | None, pgid: int = 0) -> None:
        self.process = process
        # start_new_session: the leader's pid is the group id
        self.pgid = process.pid if process is not None else pgid

    def signal(self, signum: int) -> bool:
        """Send `signum` to every process in the group; False when none is left (or there
        is no group: pgid 0 would be our own)."""
        if self.pgid <= 0:
            return False
        try:
            os.killpg(self.pgid, signum)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def alive(self) -> bool:
        """Any live (not zombie) process left in the group? Zombies are ignored: an
        orphan's zombie waits for whoever adopted it, and it holds nothing open."""
        if not self.signal(0):
            return False
        members = group_members(self.pgid)
        return members is None or bool(members)

    def kill(self, grace: float | None = None) -> None:
        """SIGTERM to the group, SIGKILL to whatever is left after `grace` seconds."""
        grace = KILL_GRACE if grace is None else grace
        if not self.signal(signal.SIGTERM):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            self.reap()
            if not self.alive():
                return
            time.sleep(0.02)
        self.signal(signal.SIGKILL)
        self.reap(timeout=grace)

    def reap(self, timeout: float = 0.0) -> None:
        if self.process is None:  # not our child: whoever adopted it reaps it
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)


TOKEN_VARIABLE = "ORCH_AGENT_TOKEN"


TOKEN_PREFIX = secrets.token_hex(8)
TOKEN_COUNT = itertools.count(1)


def new_token() -> str:
    """A value for TOKEN_VARIABLE that marks one agent's processes as ours: unguessable,
    and never the same twice (per process: a random prefix, the pid and a count)."""
    return f"{TOKEN_PREFIX}{os.getpid():x}-{next(TOKEN_COUNT):x}"


@functools.cache
def runtime_dir() -> Path | None:
    """A private folder in memory (tmpfs) for pidfiles: what they record matters only while
    this machine is up (no process group outlives a reboot), and a file made and removed on
    a disk, once per agent, cost more than the agent's start (ext4 looks past every inode
    removed in the last seconds for a new one). $XDG_RUNTIME_DIR, else /dev/shm; None where
    neither is a folder (macOS), or the folder is not ours alone."""
    uid = os.getuid()
    for base in (os.environ.get("XDG_RUNTIME_DIR", ""), "/dev/shm"):
        if not base or not os.path.isdir(base):
            continue
        path = Path(base, f"orchestrator-tui-{uid}")
        with contextlib.suppress(OSError):
            path.mkdir(mode=0o700, exist_ok=True)
            found = os.lstat(path)
            if stat.S_ISDIR(found.st_mode) and found.st_uid == uid and not found.st_mode & 0o077:
                return path
    return None


@functools.lru_cache(maxsize=4096)  # asked three times per agent: start, record and end
def kept_at(pidfile: Path) -> Path:
    """Where the record for `pidfile` (a name under the run's folder) is kept: in the
    runtime folder, under a digest of its absolute path; at `pidfile` itself without one."""
    base = runtime_dir()
    if base is None:
        return pidfile
    name = hashlib.blake2b(os.fsencode(os.path.abspath(pidfile)), digest_size=16).hexdigest()
    return base / f"{name}.pid"


def records(pidfile: Path) -> tuple[Path, ...]:
    """Where a record for `pidfile` may be: where it is kept, then `pidfile` itself (where
    versions before the runtime folder kept it, and where one goes that the runtime folder
    cannot take)."""
    return tuple(dict.fromkeys((kept_at(pidfile), pidfile)))


def write_pidfile(pidfile: Path, pgid: int, token: str) -> None:
    """Record the group for the next start, and guard it with this process's lifeline.
    Plain system calls: it is on the path of every agent's start. Where the runtime folder
    cannot take it (full, gone) the record goes to `pidfile` itself, as it did before."""
    LIFELINE.guard(pgid, token)
    line = f"{pgid} {token}\n".encode("ascii")
    path = kept_at(pidfile)
    try:
        write_record(path, line)
    except OSError:
        if path == pidfile:
            raise
        write_record(pidfile, line)
        ON_DISK.add(pidfile)


ON_DISK: set[Path] = set()  # pidfiles whose record had to go to the disk


def write_record(path: Path, line: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    try:  # its folder is made only the first time it is missing
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def remove_pidfile(pidfile: Path, pgid: int | None = None) -> None:
    """The group recorded for `pidfile` (`pgid`, else read from the record) has ended:
    forget it (the record and the lifeline's entry)."""
    path = pidfile if pidfile in ON_DISK else kept_at(pidfile)
    ON_DISK.discard(pidfile)
    with contextlib.suppress(OSError, ValueError):
        LIFELINE.release(pgid or int(path.read_text(encoding="utf-8").split()[0]))
    with contextlib.suppress(OSError):
        path.unlink()


def carries_token(pid: int, token: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"{TOKEN_VARIABLE}={token}".encode() in environ.split(b"\0")


def kill_leftovers(pidfile: Path) -> int:
    """Kill what is left of an earlier run of the same agent: after the orchestrator itself
    was killed (SIGKILL, power loss), its agents live on in their own sessions. Only a
    group whose processes carry the token recorded for `pidfile` is touched, so a reused
    pid is never hit. A record at `pidfile` itself (where versions before the runtime
    folder kept it, and where one is kept without that folder) counts too. Returns how
    many processes were found."""
    return sum(kill_recorded(path) for path in records(pidfile))


def kill_recorded(path: Path) -> int:
    try:  # plain system calls: a missing file, the common case, is the whole cost
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        pgid_text, token = os.read(fd, 4096).decode("ascii").split()
        pgid = int(pgid_text)
    except (OSError, ValueError):
        return 0
    finally:
        os.close(fd)
    members = group_members(pgid) or []  # unknown (no /proc): leave it alone
    ours = [pid for pid in members if carries_token(pid, token)]
    if ours:
        ProcessGroup(None, pgid).kill()
    with contextlib.suppress(OSError):
        path.unlink()
    return len(ours)


def kill_groups(groups: Mapping[int, str], grace: float = KILL_GRACE) -> int:
    """Kill every group whose processes carry its token: SIGTERM to all at once, SIGKILL to
    what is left after `grace` seconds. Returns how many groups were ours."""
    ours = [
        ProcessGroup(None, pgid)
        for pgid, token in groups.items()
        if any(carries_token(pid, token) for pid in group_members(pgid) or [])
    ]
    for group in ours:
        group.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group.alive() for group in ours):
        time.sleep(0.05)
    for group in ours:
        group.signal(signal.SIGKILL)
    return len(ours)


class Lifeline:
    """This process's watchdog (lifeline.py --groups), started on the first `guard`: it
    kills the guarded groups when this process dies, however it dies. A lifeline that
    cannot start or has died is not fatal: the pidfiles still let a resume clean up."""

    SCRIPT = Path(__file__).resolve().parent.parent / "agents" / "lifeline.py"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.owner = 0  # the pid that started it (a forked child needs its own)
        self.ended = ""  # "- PGID" lines not sent yet: they go with the next guard

    def guard(self, pgid: int, token: str) -> bool:
        return self.send(f"{pgid} {token}\n")

    def release(self, pgid: int) -> None:
        """The group ended by itself: the lifeline forgets it, told with the next guard (a
        write that wakes the lifeline costs the agent's start tens of microseconds; a group
        left on its list is harmless: it is killed only while its processes carry the
        token)."""
        with self.lock:
            if self.process is not None and self.owner == os.getpid():
                self.ended += f"- {pgid}\n"

    def send(self, line: str) -> bool:
        """A line to the lifeline, after the ended groups' lines that waited for one; a
        lifeline that died (its pipe is broken) is started again."""
        with self.lock:
            line, self.ended = self.ended + line, ""
            for _ in range(2):
                if self.process is None or self.owner != os.getpid():
                    self.process = self.start()
                    self.owner = os.getpid()
                if self.process is None or self.process.stdin is None:
                    return False
                try:
                    self.process.stdin.write(line.encode("ascii"))
                    self.process.stdin.flush()
                    return True
                except (OSError, ValueError):
                    self.process = None
            return False

    def start(self) -> subprocess.Popen[bytes] | None:
        try:
            return subprocess.Popen(
                [sys.executable, "-I", str(self.SCRIPT), "--groups"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,  # a kill of our group must not take it first
            )
        except OSError:
            return None


LIFELINE = Lifeline()
