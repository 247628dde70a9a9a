"""The spawner: a helper process that starts agents for the orchestrator, so that the
engine's thread does not wait while each one starts (agents/starter.py is its other end).

A posix_spawn returns only once the child has exec'd, and on a busy machine the child waits
for a core first: half a millisecond or more per agent in which the engine's thread could
do nothing else (bench/RESULTS.md). Here, in a process of its own (its own GIL), the wait
costs the engine nothing: it sends a request and goes on; the answer comes back on the
socket its supervisor loop already listens to.

Run by its path (stdlib only: it loads agents/launch.py and infra/procgroup.py by their
paths, nothing else), in a session of its own, with fd 0 one end of a SOCK_SEQPACKET
socket whose other end only the orchestrator holds. Messages in (each with three
descriptors: the child's 0, 1 and 2):

    {"id": N, "program": PATH, "argv": [...], "cwd": DIR, "env": {...}, "unset": [...],
     "records": [KEPT, PIDFILE]}

`env` and `unset` are the changes to the environment of the request before (agents share
nearly all of it). `records` (procgroup.records, for an agent with a pidfile) are where
its group is recorded: the group an earlier attempt left there is killed first (as
procgroup.kill_leftovers does: only if its processes carry the token recorded, waiting up
to KILL_GRACE for it), and the new one recorded after the start, with the token in `env`
(procgroup.keep_record: the runtime folder, else the disk). Messages out, one per datagram:

- "p N PID KILLED DISK": started; KILLED processes of an earlier attempt were killed; DISK
  is 1 when the record went to the pidfile itself (the runtime folder did not take it);
- "f N TEXT": could not start it (TEXT is why, as Popen would say it);
- "r N TEXT": started, but its record could not be written: it was killed and reaped (an
  agent nobody could find again must not run);
- "x PID CODE": it exited (CODE as Popen's returncode, -N for a signal).

The children are started as agents/launch.py starts them (a session of their own, …) and
reaped here.

The socket's end is the orchestrator's death (or its exit): the children still running
then are stopped as the lifeline stops groups (SIGTERM to each group, SIGKILL to what is
left after procgroup.KILL_GRACE). Each leader is our unreaped child until then, so its pid,
the group's id, cannot have been reused.
"""

from __future__ import annotations

import array
import contextlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path

MAX_REQUEST = 1 << 17  # bytes; starter.py sends nothing larger (it starts such ones itself)


def load(name: str, path: Path):  # type: ignore[no-untyped-def]
    found = importlib.util.spec_from_file_location(name, path)
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    sys.modules[name] = module
    found.loader.exec_module(module)
    return module


HERE = Path(__file__).resolve().parent


def receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    """One request and its descriptors, without waiting (socket.recv_fds of Python 3.11
    drops its flags: it would wait)."""
    room = socket.CMSG_LEN(3 * array.array("i").itemsize)
    msg, ancillary, _flags, _addr = sock.recvmsg(MAX_REQUEST, room, socket.MSG_DONTWAIT)
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - (len(data) % fds.itemsize)])
    return msg, list(fds)


class Spawner:
    def __init__(self, sock: socket.socket, spawner: object, procgroup: object) -> None:
        self.sock = sock
        self.spawner = spawner
        self.procgroup = procgroup
        self.env: dict[str, str] = {}
        self.poller = select.epoll()
        self.poller.register(sock.fileno(), select.EPOLLIN)
        self.children: dict[int, int] = {}  # pidfd -> pid

    def serve(self) -> None:
        """Until the socket's end."""
        while True:
            for fd, _mask in self.poller.poll():
                if fd != self.sock.fileno():
                    self.reap(fd)
                elif not self.take():
                    return

    def take(self) -> bool:
        """Every request waiting; False at the socket's end."""
        while True:
            try:
                msg, fds = receive(self.sock)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not msg:
                for fd in fds:
                    os.close(fd)
                return False
            try:
                self.start(json.loads(msg), fds)
            finally:
                for fd in fds:
                    os.close(fd)

    def start(self, request: dict, fds: list[int]) -> None:  # type: ignore[type-arg]
        self.env.update(request.get("env", {}))
        for name in request.get("unset", ()):
            self.env.pop(name, None)
        number, records = request["id"], [Path(p) for p in request.get("records", ())]
        group = self.procgroup
        killed = sum(group.kill_recorded(path) for path in records)  # type: ignore[attr-defined]
        try:
            if len(fds) != 3:
                raise ValueError("the request came without its three descriptors")
            pid = self.spawner.spawn(  # type: ignore[attr-defined]
                request["program"], request["argv"], self.env, Path(request["cwd"]), tuple(fds)
            )
        except OSError as exc:
            self.send(f"f {number} {exc.strerror or exc}")
            return
        except ValueError as exc:
            self.send(f"f {number} ValueError: {exc}")
            return
        on_disk = False
        if records:
            token = self.env.get(group.TOKEN_VARIABLE, "")  # type: ignore[attr-defined]
            try:
                on_disk = group.keep_record(tuple(records), pid, token)  # type: ignore[attr-defined]
            except OSError as exc:  # an agent nobody could find again must not run
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.send(f"r {number} could not record {records[-1].name}: {exc.strerror or exc}")
                return
        answer = f"p {number} {pid} {killed} {int(on_disk)}"
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # cannot be watched: reaped at once when it ends, by a blocking wait
            self.send(answer)
            self.send(f"x {pid} {os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}")
            return
        self.children[pidfd] = pid
        self.poller.register(pidfd, select.EPOLLIN)
        self.send(answer)

    def reap(self, pidfd: int) -> None:
        pid = self.children.pop(pidfd)
        self.poller.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        self.send(f"x {pid} {os.waitstatus_to_exitcode(status)}")

    def send(self, text: str) -> None:
        with contextlib.suppress(OSError):  # the orchestrator is gone: the loop ends soon
            self.sock.send(text.encode())

    def stop_children(self) -> None:
        """SIGTERM to every child's group, SIGKILL to the groups whose leader has not ended
        after procgroup.KILL_GRACE seconds; each reaped."""
        for pid in self.children.values():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + self.procgroup.KILL_GRACE  # type: ignore[attr-defined]
        while self.children and time.monotonic() < deadline:
            for pidfd, _mask in self.poller.poll(0.05):
                if pidfd in self.children:
                    pid = self.children.pop(pidfd)
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)  # what it left in its group
                        os.waitpid(pid, 0)
                    os.close(pidfd)
        for pidfd, pid in self.children.items():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(pidfd)
        self.children.clear()


def main() -> int:
    launch = load("launch", HERE / "launch.py")
    found = launch.spawner()
    sock = socket.socket(fileno=0)
    if found is None:  # starter.py does not start us where posix_spawn is missing
        return 1
    spawner = Spawner(sock, found, load("procgroup", HERE.parent / "infra" / "procgroup.py"))
    try:
        spawner.serve()
    except KeyboardInterrupt:
        pass
    finally:
        spawner.stop_children()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
