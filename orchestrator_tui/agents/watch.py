"""One running agent as the supervisor's loop sees it: pipes, log, clocks, stdin queue.

Everything here but `send`, `close_stdin`, `stop` and `wait` runs in the supervisor's loop
(supervisor.py); the module docstring of runner.py says what a caller can count on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from subprocess import Popen
from typing import IO, Protocol

from ..core.protocols import AgentEvents
from . import procgroup
from .launch import Child
from .lines import READ_CHUNK, LineReader
from .procgroup import ProcessGroup
from .spec import (
    ExitHandler,
    LineHandler,
    ProcessOutcome,
    ProcessSpec,
    Stream,
    clip_display,
    close_quietly,
    never_startable,
    outcome_reason,
    write_marker,
)

PIPE_DRAIN_SECONDS = 2.0


class Loop(Protocol):
    """What a watch needs of the supervisor that owns it (supervisor.py)."""

    def call(self, request: Callable[[], None]) -> None: ...

    def update_stdin(self, watch: Watch) -> None: ...

    def unregister(self, fd: int) -> None: ...


class Watch:
    """A started agent. See runner.py for the handle's API (send, close_stdin, stop, wait)."""

    def __init__(
        self,
        spec: ProcessSpec,
        on_line: LineHandler,
        events: AgentEvents,
        cancel: threading.Event,
        on_exit: ExitHandler | None,
        started: float,
    ) -> None:
        self.spec = spec
        self.on_line = on_line
        self.events = events
        self.cancel = cancel
        self.on_exit = on_exit
        self.process: Popen[bytes] | Child = None  # type: ignore[assignment]  # see attach
        self.log: IO[bytes] | None = None
        self.started = started
        self.ended = threading.Lock()  # held until it ended (an Event costs 3× as much)
        self.ended.acquire()
        self.outcome: ProcessOutcome | None = None
        self.supervisor: Loop | None = None
        self.phase = "running"  # → stopping → draining → done
        self.timed_out = self.cancelled = False
        self.kill_at = self.reap_until = self.drain_until = 0.0
        self.last_output = started
        self.warned_at = 0.0
        self.stalls = 0
        self.stderr_tail: list[str] = []
        self.pending: list[str] = []
        self.pidfd: int | None = None
        self.read_fds: dict[int, Stream] = {}  # the read ends of its stdout and stderr
        self.readers: dict[Stream, LineReader] = {}
        self.stdin_lock = threading.Lock()
        self.outbox = bytearray()
        self.stdin_closing = False
        self.stdin_fd: int | None = None
        self.stdin_open = spec.stdin_pipe  # send() queues even before the process exists
        # true while the agent waits for a person (a permission request, the next message
        # after an interrupt): its timeout and stall clocks stand still (claude.py sets it)
        self.holding: Callable[[], bool] | None = None
        self.held = 0.0
        self.checked_at = started

    def attach(self, process: Popen[bytes] | Child, out: int, err: int, log: IO[bytes]) -> None:
        """The process was started (runner.spawn) with the pipes whose read ends are `out`
        and `err` (this watch closes them); before the supervisor takes it."""
        self.process, self.log = process, log
        self.group = ProcessGroup(process)
        for stream, fd in (("stdout", out), ("stderr", err)):
            self.read_fds[fd] = stream  # type: ignore[assignment]
            self.readers[stream] = LineReader(  # type: ignore[index]
                self.spec.redact, self.write_log, lambda text, s=stream: self.line(text, s)
            )
        if process.stdin is not None:
            self.stdin_fd = process.stdin.fileno()
            os.set_blocking(self.stdin_fd, False)

    @classmethod
    def not_started(
        cls,
        spec: ProcessSpec,
        events: AgentEvents,
        reason: str,
        on_exit: ExitHandler | None,
        announce: bool,
    ) -> Watch:
        watch = cls(spec, lambda t, s: [], events, threading.Event(), on_exit, 0.0)
        watch.never_started(reason, announce)
        return watch

    def never_started(self, reason: str, announce: bool = True) -> None:
        if announce:
            self.events.output([f"[orchestrator] {reason}"])
        retryable = not never_startable(reason)
        self.end(ProcessOutcome(reason=reason, exit_code=None, started=False, retryable=retryable))

    # ---- any thread -----------------------------------------------------------------

    def send(self, data: bytes) -> bool:
        """Queue `data` for the agent's stdin; False when stdin is not (or no longer) open."""
        with self.stdin_lock:
            if not self.stdin_open or self.stdin_closing or self.phase == "done":
                return False
            self.outbox += data
        self.nudge()
        return True

    def close_stdin(self) -> None:
        """EOF on the agent's stdin, once what was queued is written."""
        with self.stdin_lock:
            self.stdin_closing = True
        self.nudge()

    def stop(self) -> None:
        self.cancel.set()
        self.nudge()

    def wait(self, timeout: float | None = None) -> ProcessOutcome | None:
        if self.ended.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            self.ended.release()
        return self.outcome

    def nudge(self) -> None:
        owner = self.supervisor
        if owner is not None:
            owner.call(lambda: owner.update_stdin(self))

    # ---- the supervisor thread --------------------------------------------------------

    def open_pidfd(self) -> int | None:
        with contextlib.suppress(AttributeError, OSError):
            self.pidfd = os.pidfd_open(self.process.pid)  # type: ignore[attr-defined]
        return self.pidfd

    def ready(self, kind: str, fd: int, stream: str) -> None:
        if kind == "out":
            try:
                data = os.read(fd, READ_CHUNK)
            except OSError:
                data = b""
            if data:
                self.last_output = time.monotonic()
                self.readers[stream].feed(data)  # type: ignore[index]
            else:
                self.close_read(fd)
        elif kind == "exit":
            self.poll()
            self.close_pidfd()
        elif kind == "stdin":
            self.write_stdin()

    def close_read(self, fd: int, finish: bool = True) -> None:
        stream = self.read_fds.pop(fd, None)
        if stream is None:  # closed already
            return
        if self.supervisor is not None:
            self.supervisor.unregister(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
        if finish:
            self.readers[stream].finish()

    def close_pidfd(self) -> None:
        if self.pidfd is not None:
            if self.supervisor is not None:
                self.supervisor.unregister(self.pidfd)
            with contextlib.suppress(OSError):
                os.close(self.pidfd)
            self.pidfd = None

    def write_stdin(self) -> None:
        fd = self.stdin_fd
        if fd is None:
            return
        with self.stdin_lock:
            try:
                written = os.write(fd, self.outbox[:READ_CHUNK]) if self.outbox else 0
                del self.outbox[:written]
            except BlockingIOError:
                pass
            except OSError:  # the agent closed its end (EPIPE): nothing more goes in
                self.outbox.clear()
                self.stdin_closing = True
        if self.supervisor is not None:
            self.supervisor.update_stdin(self)

    def stdin_wanted(self) -> bool:
        with self.stdin_lock:
            return bool(self.outbox) and self.phase in ("running", "stopping")

    def stdin_should_close(self) -> bool:
        with self.stdin_lock:
            return self.stdin_closing or self.phase in ("draining", "done")

    def close_stdin_now(self) -> None:
        fd = self.stdin_fd
        if fd is None:
            return
        with self.stdin_lock:
            self.stdin_fd = None
            self.stdin_open = False
            self.stdin_closing = True
            self.outbox.clear()
        if self.supervisor is not None:
            self.supervisor.unregister(fd)
        close_quietly(self.process.stdin)

    def write_log(self, data: bytes) -> None:
        if self.log is not None:
            self.log.write(data)

    def line(self, text: str, stream: Stream) -> None:
        if stream == "stderr" and text.strip():
            self.stderr_tail = [*self.stderr_tail[-9:], text[:500]]
        try:
            shown = self.on_line(text, stream)
        except Exception as exc:  # a parser bug must not lose the output
            shown = [text, f"[orchestrator] could not parse that line: {exc}"]
        self.pending.extend(clip_display(s) for s in shown)

    def flush(self) -> None:
        if self.log is not None:
            self.log.flush()
        if self.pending:
            lines, self.pending = self.pending, []
            self.events.output(lines)

    def poll(self) -> None:
        if self.process.returncode is None:
            self.process.poll()

    def end_of_turn(self, now: float, touched: bool) -> None:
        if touched:
            self.flush()
        self.check(now)

    def check(self, now: float) -> None:
        if self.phase == "running":
            if self.holding is not None and self.holding():
                self.held += max(0.0, now - self.checked_at)
                self.last_output = now
            self.checked_at = now
            self.poll()
            if self.process.returncode is not None:
                stop_group(self, now)  # its leftovers die too: no orphans
            elif self.cancel.is_set():
                self.cancelled = True
                stop_group(self, now)
            elif now - self.started - self.held > self.spec.timeout:
                self.timed_out = True
                stop_group(self, now)
            else:
                self.check_silence(now)
        elif self.phase == "stopping":
            check_stopping(self, now)
        if self.phase == "draining" and (not self.read_fds or now >= self.drain_until):
            self.finish(now)

    def check_silence(self, now: float) -> None:
        silent_for = now - self.last_output
        if silent_for > self.spec.stall_after and self.last_output != self.warned_at:
            self.warned_at = self.last_output
            self.stalls += 1
            self.events.notice(
                "warning", f"no output for {silent_for:.0f} s: the agent may be stalled"
            )

    def begin_drain(self, now: float) -> None:
        self.phase = "draining"
        self.drain_until = now + PIPE_DRAIN_SECONDS
        self.close_stdin_now()

    def finish(self, now: float) -> None:
        for fd in list(self.read_fds):  # an escaped process still holds them: let go
            self.close_read(fd)
        self.close_pidfd()
        self.flush()
        code = self.process.returncode
        outcome = ProcessOutcome(
            reason=outcome_reason(code, self.timed_out, self.cancelled, self.spec.timeout),
            exit_code=code if code is not None and code >= 0 else None,
            duration=now - self.started,
            timed_out=self.timed_out,
            cancelled=self.cancelled,
            stalls=self.stalls,
            stderr_tail=tuple(self.stderr_tail),
        )
        self.close_log(f"=== {outcome.reason} after {outcome.duration:.1f} s")
        self.end(outcome)

    def close_log(self, footer: str) -> None:
        log, self.log = self.log, None
        if log is None:
            return
        try:
            write_marker(self.spec, log, footer)
        finally:
            log.close()
            if self.spec.pidfile is not None:
                leader = self.process.pid if self.process is not None else None
                procgroup.remove_pidfile(self.spec.pidfile, leader)

    def end(self, outcome: ProcessOutcome) -> None:
        self.phase = "done"
        self.outcome = outcome
        try:
            if self.on_exit is not None:
                self.on_exit(outcome)
        finally:
            with contextlib.suppress(RuntimeError):  # released once
                self.ended.release()

    def fail(self, reason: str) -> None:
        """A bug in handling this agent: stop it hard and end it with the reason."""
        if self.phase == "done":
            return
        if self.process is not None:
            self.group.signal(signal.SIGKILL)
            for fd in list(self.read_fds):
                self.close_read(fd, finish=False)
            self.close_pidfd()
            self.close_stdin_now()
        with contextlib.suppress(Exception):
            self.close_log(f"=== {reason}")
        self.end(ProcessOutcome(reason=reason, exit_code=None, duration=0.0))


def stop_group(watch: Watch, now: float) -> None:
    """Begin stopping the agent's group: SIGTERM now, SIGKILL at the deadline."""
    watch.phase = "stopping"
    watch.kill_at = now + procgroup.KILL_GRACE
    watch.reap_until = 0.0
    if not watch.group.signal(signal.SIGTERM):
        watch.poll()
        watch.begin_drain(now)


def check_stopping(watch: Watch, now: float) -> None:
    watch.poll()
    if watch.reap_until:  # SIGKILL was sent: wait (a while) for the leader to be reaped
        if watch.process.returncode is not None or now >= watch.reap_until:
            watch.begin_drain(now)
        return
    if watch.process.returncode is not None and not watch.group.alive():
        watch.begin_drain(now)
    elif now >= watch.kill_at:
        watch.group.signal(signal.SIGKILL)
        watch.reap_until = now + procgroup.KILL_GRACE
