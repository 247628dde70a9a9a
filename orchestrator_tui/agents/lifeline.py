"""Lifelines: watchdogs that kill process groups when the process that started them dies, even
by SIGKILL. Run by its path (stdlib only, so that it starts in milliseconds: it imports
infra/procgroup.py by its path, nothing else), in a session of its own, with a pipe on its stdin
whose other end only the watched process holds. The pipe's end is that process's death (or
its clean exit): the kernel closes its end in every case.

`python lifeline.py --groups` — the orchestrator's own (procgroup.Lifeline): every agent
and stage tool it starts runs in a process group of its own (start_new_session), which a
SIGKILL of the orchestrator, or of its whole group, does not reach. Each line on stdin is
"PGID TOKEN" (a group to guard) or "- PGID" (it ended); at the end the groups still
guarded are killed, SIGTERM then SIGKILL after procgroup.KILL_GRACE, each only if its
processes carry TOKEN in their environment (procgroup.kill_groups), so a reused pid is never
hit.

`python lifeline.py PIDFILE DIR` — a remote attempt's: a Ray worker that runs an agent
starts it. When Ray kills the worker (a force cancel, the job's driver gone, an
out-of-memory kill) the agent would live on: Ray kills only the worker's direct children.
At the end the watchdog kills the group recorded in PIDFILE (only if its processes carry
the token written there, procgroup.kill_leftovers) and removes the attempt's temporary
directory DIR.
"""

from __future__ import annotations

import os
import select
import shutil
import sys
from pathlib import Path

POLL_MS = 100  # how often the guard list is read: a new guard is never urgent


def guard_groups() -> int:
    """Guard the groups named on stdin until its end. The pipe is polled for its end alone
    (events 0: only POLLHUP and POLLERR wake the poll), and read every POLL_MS: a write to
    it (one per agent started) then wakes nobody, where a blocking read woke this process,
    and cost the writer its wake-up, once per line."""
    from procgroup import kill_groups  # type: ignore[import-not-found]

    fd = sys.stdin.fileno()
    groups: dict[int, str] = {}
    rest: bytes | None = b""
    try:
        os.set_blocking(fd, False)
        poller = select.poll()
        poller.register(fd, 0)
        while rest is not None:
            poller.poll(POLL_MS)  # returns early only at the end: read to it then
            rest = read_groups(fd, rest, groups)
    except (OSError, KeyboardInterrupt):
        pass
    kill_groups(groups)
    return 0


def read_groups(fd: int, rest: bytes, groups: dict[int, str]) -> bytes | None:
    """Read what the pipe holds and apply its whole lines to `groups`: "PGID TOKEN" guards a
    group, "- PGID" forgets it. Returns the unfinished last line, or None at the pipe's end."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return rest
        if not chunk:
            return None
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            parts = line.decode("ascii", "replace").split()
            if len(parts) == 2 and parts[0] == "-" and parts[1].isdigit():
                groups.pop(int(parts[1]), None)
            elif len(parts) == 2 and parts[0].isdigit():
                groups[int(parts[0])] = parts[1]


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "infra"))
    if argv == ["--groups"]:
        return guard_groups()
    from procgroup import kill_leftovers  # type: ignore[import-not-found]

    pidfile, directory = Path(argv[0]), Path(argv[1])
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, KeyboardInterrupt):
        pass
    kill_leftovers(pidfile)
    if directory.name.startswith("orch-remote-"):  # never anything but our own temp dir
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
