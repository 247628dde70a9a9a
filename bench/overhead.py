"""Orchestrator overhead against make: 1,000 no-op shell tasks (`true`) in a random DAG.

Runs `orchestrator-tui run --headless --approve all --concurrency 8` (shell backend, no git
isolation) and `make -j8` on a generated Makefile of the same DAG, side by side in one run,
and prints the ratio of the medians of `--rounds` runs of each. Goal: ≤ 3× (issue 11),
≤ 1.5× (the project). Not a test: it prints. With `--before PYTHON` it also runs the
orchestrator of another checkout (that checkout's venv interpreter, e.g. main before a
change) on the same DAG, in the same run, alternating which goes first. The floor row is
bench/spawn_floor.py: the same processes started and reaped by a bare Python loop the way
the orchestrator starts them (dependencies left out), so what the orchestrator takes beyond
it is its own bookkeeping.

The orchestrator makes two files per task (its prompt and its log) where make makes none,
so the filesystem's cost of making a file counts: on ext4 without a journal it grows for
minutes after many files were removed (each new inode is looked for past the recently
freed ones), which can double a run. `--dir /dev/shm` leaves that cost out (and
measures the orchestrator's own); the default, the temp folder, keeps it in.

    python bench/overhead.py [--tasks 1000] [--rounds 3] [--before /tmp/s6/.venv/bin/python]
                             [--dir /dev/shm]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """
[run]
concurrency = 8
isolation = "none"
retries = 0
[gates]
plan = false
parallel = false
implement = false
security = false
test = false
review = false
[agents]
default = "sh"
[agents.sh]
backend = "shell"
"""


CPU = [0.0]  # of the last `timed` command


def random_dag(count: int, rng: random.Random) -> list[list[int]]:
    deps = []
    for i in range(count):
        window = list(range(max(0, i - 50), i))
        deps.append(sorted(rng.sample(window, min(len(window), rng.choice((0, 1, 1, 2, 3))))))
    return deps


def write_plan(root: Path, deps: list[list[int]]) -> None:
    sections = ["# Plan: overhead\n"]
    for i, before in enumerate(deps):
        depends = ", ".join(f"t{d}" for d in before) or "none"
        sections.append(f"## t{i}: no-op {i}\ndepends: {depends}\nrun: true\n")
    (root / "PLAN.md").write_text("\n".join(sections))
    (root / ".orchestrator").mkdir()
    (root / ".orchestrator" / "config.toml").write_text(CONFIG)


def write_makefile(root: Path, deps: list[list[int]]) -> None:
    lines = [".PHONY: all " + " ".join(f"t{i}" for i in range(len(deps))), ""]
    lines.append("all: " + " ".join(f"t{i}" for i in range(len(deps))))
    for i, before in enumerate(deps):
        lines += [f"t{i}: " + " ".join(f"t{d}" for d in before), "\ttrue", ""]
    (root / "Makefile").write_text("\n".join(lines))


def timed(argv: list[str], cwd: Path) -> float:
    """Wall seconds of the command (its CPU seconds, with its children's, go to CPU[0])."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        argv,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "CI": ""},
        timeout=1800,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[0] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed: {result.stderr.decode()[-2000:]}")
    return elapsed


def compile_package(python: str) -> None:
    """Byte-compile the checkout's package first: with PYTHONDONTWRITEBYTECODE set (as in
    some shells and containers) every run would otherwise compile it from source again."""
    code = (
        "import compileall, os, orchestrator_tui as p;"
        "compileall.compile_dir(os.path.dirname(p.__file__), quiet=1)"
    )
    subprocess.run(
        [python, "-c", code], check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, medians compared")
    parser.add_argument("--before", default="", help="the interpreter of another checkout")
    parser.add_argument(
        "--dir",
        default=None,
        help="where the runs' folders go (default: the system's temp folder); e.g. /dev/shm "
        "to leave the filesystem's own cost of making files out",
    )
    args = parser.parse_args()
    if not shutil.which("make"):
        raise SystemExit("make is not installed")
    deps = random_dag(args.tasks, random.Random(args.seed))
    runs = [("before", args.before)] if args.before else []
    runs.append(("this checkout" if args.before else "", sys.executable))
    for _name, python in runs:
        compile_package(python)
    floor = [
        sys.executable,
        str(Path(__file__).with_name("spawn_floor.py")),
        "--tasks",
        str(args.tasks),
    ]
    names = ["make", "floor", *(name for name, _ in runs)]
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    # Every run gets a directory of its own and nothing is deleted until the end: file
    # creation slows down after many deletions on the same filesystem (ext4), which would
    # favour whichever ran first. The order of the orchestrators alternates by round.
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for number in range(args.rounds):
            make_dir = Path(tmp, f"make-{number}")
            make_dir.mkdir()
            write_makefile(make_dir, deps)
            times["make"].append((timed(["make", "-j8", "-s"], make_dir), CPU[0]))
            times["floor"].append((timed(floor, make_dir), CPU[0]))
            for name, python in runs if number % 2 == 0 else runs[::-1]:
                orch_dir = Path(tmp, f"orch-{number}-{len(times[name])}-{name or 'this'}")
                orch_dir.mkdir()
                write_plan(orch_dir, deps)
                argv = [python, "-m", "orchestrator_tui", "run", "--headless", "-C", str(orch_dir)]
                times[name].append((timed(argv, orch_dir), CPU[0]))
    where = args.dir or tempfile.gettempdir()
    print(f"{args.tasks} no-op tasks, concurrency 8, {args.rounds} rounds (medians), in {where}")
    medians = {name: statistics.median(t for t, _ in runs_) for name, runs_ in times.items()}
    labels = {"make": "make -j8", "floor": "bare spawn loop (floor)"}
    for name, measured in times.items():
        label = labels.get(name, f"orchestrator-tui {name}".strip()) + ":"
        each = " ".join(f"{t:.2f}" for t, _ in measured)
        cpu = statistics.median(c for _, c in measured)
        print(f"{label:32} {medians[name]:8.2f} s   CPU {cpu:6.2f} s  (each: {each})")
    for name, _python in runs:
        label = f"ratio {name}".strip() + ":"
        ratio = medians[name] / medians["make"]
        print(f"{label:32} {ratio:8.2f}×  (goal ≤ 3×; project ≤ 1.5×)")


if __name__ == "__main__":
    main()
