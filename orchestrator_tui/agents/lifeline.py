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

import shutil
import sys
from pathlib import Path


def guard_groups() -> int:
    from procgroup import kill_groups  # type: ignore[import-not-found]

    groups: dict[int, str] = {}
    try:
        for line in sys.stdin.buffer:
            parts = line.decode("ascii", "replace").split()
            if len(parts) == 2 and parts[0] == "-" and parts[1].isdigit():
                groups.pop(int(parts[1]), None)
            elif len(parts) == 2 and parts[0].isdigit():
                groups[int(parts[0])] = parts[1]
    except (OSError, KeyboardInterrupt):
        pass
    kill_groups(groups)
    return 0


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
