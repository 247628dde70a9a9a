"""The floor under bench/overhead.py: the same 1,000 `true` processes, 8 at a time, started and
reaped by a bare Python loop the way the orchestrator does it (agents/launch.py posix_spawn
with a pipe for the output, a pidfd per process in one epoll) and nothing else: no plan, no
events, no logs, no dependencies. What the orchestrator takes beyond this is its own
bookkeeping per task. Run by overhead.py beside make; alone it prints its time.

    python bench/spawn_floor.py [--tasks 1000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path

# launch.py by its path (it needs nothing else): the package's imports are not the floor's
LAUNCH = Path(__file__).resolve().parent.parent / "orchestrator_tui" / "agents" / "launch.py"
found = importlib.util.spec_from_file_location("launch", LAUNCH)
assert found is not None and found.loader is not None
launch = importlib.util.module_from_spec(found)
sys.modules["launch"] = launch
found.loader.exec_module(launch)


def nothing() -> None:
    pass


def run(
    tasks: int,
    concurrency: int,
    before: Callable[[], None] = nothing,
    after: Callable[[], None] = nothing,
) -> float:
    """Seconds for `tasks` processes, `concurrency` at a time; `before` runs before each
    start and `after` after each exit (bench/spawn_helper.py puts bookkeeping there)."""
    if not launch.available():
        raise SystemExit("posix_spawn with chdir is not available here (glibc ≥ 2.34)")
    env, cwd = dict(os.environ), Path.cwd()
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    poller = select.epoll()
    running: dict[int, tuple[object, int]] = {}
    started = finished = 0
    began = time.perf_counter()

    def start() -> None:
        nonlocal started
        before()
        read, write = os.pipe()
        child = launch.spawn("/bin/true", ["true"], env, cwd, (devnull, write, write))
        os.close(write)
        pidfd = os.pidfd_open(child.pid)
        poller.register(pidfd, select.EPOLLIN)
        running[pidfd] = (child, read)
        started += 1

    while started < min(concurrency, tasks):
        start()
    while finished < tasks:
        for pidfd, _mask in poller.poll():
            child, read = running.pop(pidfd)
            poller.unregister(pidfd)
            os.close(pidfd)
            os.close(read)
            child.wait()  # type: ignore[attr-defined]
            after()
            finished += 1
            if started < tasks:
                start()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(f"{run(args.tasks, args.concurrency):.3f}")


if __name__ == "__main__":
    main()
