"""The orchestrator's end of the spawner (spawner.py): agents started by a helper process,
so that the engine's thread sends a request and goes on instead of waiting for each exec.

`shared()` is the process's `Starter` (the spawner is started on first use, and again if
it died), or None where it cannot be: no glibc posix_spawn (launch.available()), no pidfd,
or the spawner would not start. `Starter.start(...)` sends one request and returns a
`Spawned`: the process as a Popen-like handle whose pid is 0 until the spawner says it was
started. Everything the spawner says comes in on its socket (`fileno()`), which the agent
supervisor's loop watches: `read()` takes it and returns the handles it changed.

A request the spawner cannot take right now (its socket's buffer is full, it is gone, the
request is larger than MAX_REQUEST) is not sent: `start` returns None and the runner starts
that agent itself (launch.spawn), as it did before the spawner.

When the spawner dies under running agents their exits can no longer be known: each such
group is killed (only while its processes carry the agent's token, as a lifeline would),
its handle ends with -9 and `lost` says why, and one waiting for its answer fails. The next
start starts a new spawner.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from . import launch, procgroup

SCRIPT = Path(__file__).resolve().with_name("spawner.py")
MAX_REQUEST = 1 << 16  # bytes; the spawner takes up to twice this
RESTARTS = 3  # spawners started again in one process after one died, before giving up
LOST = "the spawner (agents/spawner.py) died"


class Spawned:
    """A process the spawner starts: what the runner and the watch use of a Popen (pid,
    poll, wait, returncode; no pipe on its stdin). `pid` is 0 until it was started;
    `problem` says why it could not be."""

    stdin = None

    def __init__(self, starter: Starter, args: list[str], token: str) -> None:
        self.starter = starter
        self.args = args
        self.token = token
        self.pid = 0
        self.returncode: int | None = None
        self.problem = ""
        self.lost = ""
        self.leftovers = 0  # processes of an earlier attempt the spawner killed first
        self.on_disk = False  # its record went to the pidfile itself
        self.owner: object = None  # the watch of it (agents/watch.py)
        self.adopted: Callable[[Spawned], None] | None = None  # called once it started

    @property
    def answered(self) -> bool:
        return bool(self.pid or self.problem)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit (the spawner's word for it, read here if no loop reads it)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            if self.problem:
                return 255
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            self.starter.read()
            time.sleep(0.002)
        return self.returncode


class Starter:
    """One spawner and the processes it started for us."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", str(SCRIPT)],
                stdin=theirs,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,  # a kill of our group must not take it first
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)  # a spawner that does not keep up never holds the engine
        self.sock = ours
        self.lock = threading.Lock()
        self.count = 0
        self.env: dict[str, str] = {}  # as the spawner knows it: the last request's
        self.waiting: dict[int, Spawned] = {}  # request id -> handle, until answered
        self.running: dict[int, Spawned] = {}  # pid -> handle, until it exited
        self.dead = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def start(
        self,
        program: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        fds: tuple[int, int, int],
        records: Sequence[Path] = (),
    ) -> Spawned | None:
        """Ask for `program` to be started (see launch.spawn), with its group recorded at
        `records` (spawner.py); None: not asked, start it yourself. The descriptors are
        the caller's still (the request holds copies)."""
        with self.lock:
            if self.dead:
                return None
            changed = {name: value for name, value in env.items() if self.env.get(name) != value}
            request = {
                "id": self.count + 1,
                "program": program,
                "argv": list(argv),
                "cwd": os.fspath(cwd),
                "env": changed,
                "unset": [name for name in self.env if name not in env],
                "records": [os.fspath(path) for path in records],
            }
            data = json.dumps(request, separators=(",", ":")).encode()
            if len(data) > MAX_REQUEST:
                return None
            try:
                socket.send_fds(self.sock, [data], list(fds))
            except BlockingIOError:
                return None
            except OSError:
                self.end()
                return None
            self.count += 1
            self.env = dict(env)
            child = Spawned(self, list(argv), env.get(procgroup.TOKEN_VARIABLE, ""))
            self.waiting[self.count] = child
            return child

    def read(self) -> list[Spawned]:
        """Take what the spawner said; the handles it changed (any thread)."""
        changed: list[Spawned] = []
        with self.lock:
            while not self.dead:
                try:
                    data = self.sock.recv(256)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    changed += self.end()
                    break
                child = self.heard(data.decode("utf-8", "replace"))
                if child is not None:
                    changed.append(child)
        return changed

    def heard(self, message: str) -> Spawned | None:
        kind, first, rest = [*message.split(" ", 2), "", ""][:3]
        if kind == "x":
            child = self.running.pop(int(first), None)
            if child is not None:
                child.returncode = int(rest)
            return child
        child = self.waiting.pop(int(first), None)
        if child is None:
            return None
        if kind == "p":
            pid, killed, disk = [*rest.split(), "0", "0"][:3]
            child.pid, child.leftovers, child.on_disk = int(pid), int(killed), disk == "1"
            self.running[child.pid] = child
        elif kind == "r":  # started, not recorded, killed: said as the runner says it
            child.problem = rest
        else:
            child.problem = f"could not start {child.args[0]}: {rest}"
        return child

    def end(self) -> list[Spawned]:
        """The spawner is gone (or its socket broke): settle every handle it left. The
        socket stays open until whoever listens to it lets go (`close_socket`)."""
        self.dead = True
        for child in self.running.values():
            if child.token and any(
                procgroup.carries_token(pid, child.token)
                for pid in procgroup.group_members(child.pid) or []
            ):
                with contextlib.suppress(OSError):
                    os.killpg(child.pid, signal.SIGKILL)
            child.returncode, child.lost = -signal.SIGKILL, LOST
        for child in self.waiting.values():
            child.problem = LOST
        settled = [*self.running.values(), *self.waiting.values()]
        self.running.clear()
        self.waiting.clear()
        self.process.poll()  # reaped if it has ended (never waited for: this is the loop)
        return settled

    def close_socket(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def close(self) -> None:
        """The spawner's end: it stops what it still runs, then exits (tests use it)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


_shared: Starter | None = None
_shared_pid = 0
_restarts = 0
_lock = threading.Lock()


def usable() -> bool:
    return launch.available() and hasattr(os, "pidfd_open") and hasattr(socket, "send_fds")


def shared() -> Starter | None:
    """The process's starter (see the module docstring), or None."""
    global _shared, _shared_pid, _restarts
    with _lock:
        if _shared is not None and _shared_pid == os.getpid() and not _shared.dead:
            return _shared
        if _shared_pid == os.getpid() and (_shared is None or _restarts >= RESTARTS):
            return None  # would not start, or keeps dying: the runner starts agents itself
        if _shared_pid == os.getpid():
            _restarts += 1
        else:  # first use in this process (a forked child starts its own)
            _restarts = 0
        _shared_pid = os.getpid()
        _shared = None
        if usable():
            with contextlib.suppress(OSError):
                _shared = Starter()
        return _shared
