"""Would starting agents from a helper process pay? (A design question for issue 11, not
the product.) The same 1,000 `true`s, 8 at a time, each with WORK µs of Python bookkeeping
on the engine's side (a busy loop standing in for folding, logging, files), started either

- inline: posix_spawn on the engine thread, as the orchestrator does (agents/launch.py):
  the thread waits in every call until the child has exec'd;
- helper: a request over a Unix socket to a helper process (its own GIL) that posix_spawns
  with the passed descriptors (SCM_RIGHTS), reaps, and reports "pid" then "exit pid code";
  the engine learns of exits from that socket and goes on with its bookkeeping meanwhile.

Prints both, side by side in one run, and their ratio. Not a test. (Built into the product
on 2026-12-08 and backed out: on a quiet machine it did not pay, bench/RESULTS.md.)

    python bench/spawn_helper.py [--work 1500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import statistics
import time
from pathlib import Path

from spawn_floor import launch  # agents/launch.py, loaded by its path
from spawn_floor import run as floor


def busy(us: float) -> None:
    end = time.perf_counter() + us / 1e6
    x = 0
    while time.perf_counter() < end:
        x += 1


def helper(sock: socket.socket) -> None:
    found = launch.spawner()
    assert found is not None
    ep = select.epoll()
    ep.register(sock.fileno(), select.EPOLLIN)
    pidfds: dict[int, int] = {}
    while True:
        for fd, _ in ep.poll():
            if fd == sock.fileno():
                msg, fds, _flags, _addr = socket.recv_fds(sock, 65536, 3)
                if not msg:
                    return
                req = json.loads(msg)
                where = Path(req["cwd"])
                pid = found.spawn(req["program"], req["argv"], req["env"], where, tuple(fds))
                for f in fds:
                    os.close(f)
                pfd = os.pidfd_open(pid)
                pidfds[pfd] = pid
                ep.register(pfd, select.EPOLLIN)
                sock.send(f"pid {pid}\n".encode())
            else:
                pid = pidfds.pop(fd)
                ep.unregister(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                sock.send(f"exit {pid} {os.waitstatus_to_exitcode(status)}\n".encode())


def run_inline(tasks: int, concurrency: int, work: float) -> float:
    """bench/spawn_floor.py's loop with the bookkeeping around each start and exit."""
    return floor(tasks, concurrency, lambda: busy(work * 0.7), lambda: busy(work * 0.3))


def run_helper(tasks: int, concurrency: int, work: float) -> float:
    env, devnull = dict(os.environ), os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    helper_pid = os.fork()
    if helper_pid == 0:
        ours.close()
        helper(theirs)
        os._exit(0)
    theirs.close()
    request = json.dumps({"program": "/bin/true", "argv": ["true"], "env": env, "cwd": "/tmp"})
    waiting: list[int] = []  # read ends of starts not answered yet (answers come in order)
    reads: dict[str, int] = {}  # pid -> read end
    started = finished = 0
    began = time.perf_counter()

    def start() -> None:
        nonlocal started
        busy(work * 0.7)
        read, write = os.pipe()
        socket.send_fds(ours, [request.encode()], [devnull, write, write])
        os.close(write)
        waiting.append(read)
        started += 1

    while started < min(concurrency, tasks):
        start()
    while finished < tasks:
        kind, pid, *_code = ours.recv(4096).decode().split()
        if kind == "pid":
            reads[pid] = waiting.pop(0)
            continue
        os.close(reads.pop(pid))
        busy(work * 0.3)
        finished += 1
        if started < tasks:
            start()
    took = time.perf_counter() - began
    ours.close()
    os.waitpid(helper_pid, 0)
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=float, default=1500.0, help="µs of bookkeeping per task")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"inline": [], "helper": []}
    for number in range(args.rounds):
        for mode in ("inline", "helper") if number % 2 == 0 else ("helper", "inline"):
            run = run_inline if mode == "inline" else run_helper
            times[mode].append(run(args.tasks, 8, args.work))
    print(f"{args.tasks} `true`s, 8 at a time, {args.work:.0f} µs of bookkeeping each")
    for mode, measured in times.items():
        each = " ".join(f"{t:.2f}" for t in measured)
        print(f"{mode:8} {statistics.median(measured):6.2f} s  (each: {each})")
    ratio = statistics.median(times["helper"]) / statistics.median(times["inline"])
    print(f"helper ÷ inline {ratio:.2f}")


if __name__ == "__main__":
    main()
