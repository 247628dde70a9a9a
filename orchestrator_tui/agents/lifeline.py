"""A remote attempt's lifeline: `python lifeline.py PIDFILE DIR` (run by its path, stdlib only,
so that it starts in milliseconds: it imports procgroup.py from beside it, nothing else).

A Ray worker that runs an agent starts this watchdog in a session of its own, with a pipe
on its stdin. The agent runs in its own process group too (the runner's start_new_session),
so when Ray kills the worker (a force cancel, the job's driver gone, an out-of-memory kill)
the agent would live on: Ray kills only the worker's direct children. The pipe's end is the
worker's death (or its clean exit): the watchdog then kills the group recorded in PIDFILE
(only if its processes carry the token written there, procgroup.kill_leftovers) and removes
the attempt's temporary directory DIR.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
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
