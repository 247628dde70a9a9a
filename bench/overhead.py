"""Orchestrator overhead against make: 1,000 no-op shell tasks (`true`) in a random DAG.

Runs `orchestrator-tui run --headless --approve all --concurrency 8` (shell backend, no git
isolation) and `make -j8` on a generated Makefile of the same DAG, side by side in one run,
and prints the ratio. Goal: ≤ 3× (issue 11), ≤ 1.5× (the project). Not a test: it prints.
With `--before PYTHON` it also runs the orchestrator of another checkout (that checkout's
venv interpreter, e.g. main before a change) on the same DAG, in the same run.

    python bench/overhead.py [--tasks 1000] [--seed 1] [--before /tmp/before/.venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--before", default="", help="the interpreter of another checkout")
    args = parser.parse_args()
    if not shutil.which("make"):
        raise SystemExit("make is not installed")
    deps = random_dag(args.tasks, random.Random(args.seed))
    with tempfile.TemporaryDirectory() as tmp:
        make_dir = Path(tmp, "make")
        make_dir.mkdir()
        write_makefile(make_dir, deps)
        make_time = timed(["make", "-j8", "-s"], make_dir)
        make_cpu = CPU[0]
        runs = [("before", args.before)] if args.before else []
        runs.append(("this checkout" if args.before else "", sys.executable))
        times = []
        for name, python in runs:
            orch_dir = Path(tmp, f"orch-{len(times)}")
            orch_dir.mkdir()
            write_plan(orch_dir, deps)
            argv = [python, "-m", "orchestrator_tui", "run", "--headless", "-C", str(orch_dir)]
            times.append((name, timed(argv, orch_dir), CPU[0]))
    print(f"{args.tasks} no-op tasks, concurrency 8")
    print(f"make -j8:                        {make_time:8.2f} s   CPU {make_cpu:6.2f} s")
    for name, elapsed, cpu in times:
        label = f"orchestrator-tui {name}".strip() + ":"
        print(f"{label:32} {elapsed:8.2f} s   CPU {cpu:6.2f} s  (whole pipeline, headless)")
    for name, elapsed, _cpu in times:
        label = f"ratio {name}".strip() + ":"
        print(f"{label:32} {elapsed / make_time:8.2f}×  (goal ≤ 3×; project ≤ 1.5×)")


if __name__ == "__main__":
    main()
