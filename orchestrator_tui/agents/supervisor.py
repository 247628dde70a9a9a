"""One supervisor loop for every running agent: a selector over all their pipes.

`AgentSupervisor` (one per process, `shared()`) owns a thread named "agent-supervisor"
that waits in `selectors` on, for every agent: its stdout and stderr, a pidfd that becomes
readable when the agent exits (Linux; elsewhere the loop polls), its stdin when there is
something to write, and one wake pipe for requests from other threads. All of an agent's
state (`Watch`) is touched only by the thread turning the loop (this one, or the driver
below); other threads talk to it through `Watch.send` / `Watch.close_stdin` / the cancel
event, each of which wakes the loop.

A watch runs through: running → stopping (SIGTERM to the group, SIGKILL after KILL_GRACE)
→ draining (pipes read to their end, at most PIPE_DRAIN_SECONDS) → done. It stops when
the agent exits (its leftovers in the group die too), when it is cancelled, or when it
times out. Nothing in the loop blocks: kills and grace periods are deadlines, so one
stubborn agent never holds up the others' output. See runner.py for what a line goes
through (log file, masking, the 1 MB cap, the backend's parser).

A thread that waits anyway — the engine's, between its inputs — can turn the loop itself:
`attach_driver()`, then `drive(timeout)` where it would have waited, `detach_driver()` at
the end. Our thread steps aside meanwhile, so an agent's output and exit are handled on
the driver's thread without a hand-over between threads (one turn at a time, `turning`,
whoever turns it). Nothing may wait for an agent on the driving thread.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import sys
import threading
import time
import traceback
from collections.abc import Callable

from .watch import Watch

TICK = 0.05  # how often a running agent's cancel event, timeout and silence are looked at
KILL_POLL = 0.02  # how often a group being stopped is looked at


class AgentSupervisor:
    """The loop; `add(watch)` hands it a started agent (from any thread)."""

    def __init__(self) -> None:
        self.selector = selectors.DefaultSelector()
        self.watches: set[Watch] = set()
        self.requests: list[Callable[[], None]] = []
        self.lock = threading.Lock()
        self.due = 0.0  # the next look at every agent's clocks
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, ("wake", None, ""))
        self.turning = threading.Lock()  # held through a turn of the loop, by whoever turns it
        self.driver = 0  # the thread that turns it instead of ours (its ident), or 0
        self.ours = threading.Event()  # set while our thread turns it
        self.ours.set()
        self.thread = threading.Thread(target=self.loop, name="agent-supervisor", daemon=True)
        self.thread.start()

    # ---- any thread ---------------------------------------------------------------------

    def call(self, request: Callable[[], None]) -> None:
        """Run `request` in the loop, soon."""
        with self.lock:
            self.requests.append(request)
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.wake_w, b"x")

    def add(self, watch: Watch) -> None:
        self.call(lambda: self.register(watch))

    # ---- the loop's turns (one thread at a time) -----------------------------------------

    def register(self, watch: Watch) -> None:
        self.watches.add(watch)
        for fd, stream in watch.read_fds.items():
            self.selector.register(fd, selectors.EVENT_READ, ("out", watch, stream))
        pidfd = watch.open_pidfd()
        if pidfd is not None:
            self.selector.register(pidfd, selectors.EVENT_READ, ("exit", watch, ""))
        watch.supervisor = self
        self.update_stdin(watch)
        watch.check(time.monotonic())  # it may have exited before we got to it

    def unregister(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.selector.unregister(fd)

    def update_stdin(self, watch: Watch) -> None:
        """Listen for stdin being writable exactly while there is something to write."""
        fd = watch.stdin_fd
        if fd is None:
            return
        wanted = watch.stdin_wanted()
        registered = fd in self.selector.get_map()
        if wanted and not registered:
            self.selector.register(fd, selectors.EVENT_WRITE, ("stdin", watch, ""))
        elif not wanted and registered:
            self.unregister(fd)
        if not wanted and watch.stdin_should_close():
            watch.close_stdin_now()

    def timeout(self) -> float | None:
        if not self.watches:
            return None
        return KILL_POLL if any(w.phase == "stopping" for w in self.watches) else TICK

    def loop(self) -> None:
        while True:
            self.ours.wait()
            with self.turning:
                if not self.driver:
                    self.turn(self.timeout())

    def attach_driver(self) -> bool:
        """The calling thread turns the loop from now on (`drive`); False when another
        thread does already."""
        with self.lock:
            if self.driver:
                return False
            self.driver = threading.get_ident()
            self.ours.clear()
        self.wake()  # our thread may be waiting in select: it finishes its turn and parks
        return True

    def detach_driver(self) -> None:
        with self.lock:
            if self.driver == threading.get_ident():
                self.driver = 0
                self.ours.set()

    def drive(self, timeout: float) -> None:
        """One turn on the driver's thread: wait at most `timeout` (less when an agent's
        clock is due) for an agent or a `wake`, and handle what came."""
        with self.turning:
            due = self.timeout()
            self.turn(timeout if due is None else min(timeout, due))

    def turn(self, timeout: float | None) -> None:
        try:
            ready = self.selector.select(timeout)
        except InterruptedError:
            return
        touched: set[Watch] = set()
        for key, _mask in ready:
            kind, watch, stream = key.data
            if kind == "wake":
                self.take_requests()
                continue
            touched.add(watch)
            self.guarded(watch, watch.ready, kind, key.fd, stream)
        now = time.monotonic()
        # Agents that spoke are handled now; the clocks of all (cancel, timeout,
        # silence, a group being stopped) are looked at once a tick, not every wake.
        periodic = now >= self.due
        if periodic:
            self.due = now + (self.timeout() or TICK)
        for watch in list(self.watches) if periodic else touched:
            self.guarded(watch, watch.end_of_turn, now, watch in touched)
            if watch.phase == "done":
                self.watches.discard(watch)

    def take_requests(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self.wake_r, 4096):
                pass
        with self.lock:
            requests, self.requests = self.requests, []
        for request in requests:
            try:
                request()
            except Exception:  # a bad request must not stop every agent's supervision
                traceback.print_exc(file=sys.stderr)

    def guarded(self, watch: Watch, step: Callable[..., None], *args: object) -> None:
        """A bug while handling one agent ends that agent (with the reason), not the loop."""
        try:
            step(*args)
        except Exception as exc:
            with contextlib.suppress(Exception):
                watch.fail(f"supervisor error: {type(exc).__name__}: {exc}")


_shared: AgentSupervisor | None = None
_shared_lock = threading.Lock()
_shared_pid = 0


def shared() -> AgentSupervisor:
    """The process's supervisor (started on first use; a forked child gets its own)."""
    global _shared, _shared_pid
    with _shared_lock:
        if _shared is None or _shared_pid != os.getpid():
            _shared, _shared_pid = AgentSupervisor(), os.getpid()
        return _shared
