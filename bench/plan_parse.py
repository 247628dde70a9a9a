"""How the plan parser and the DAG analysis scale: 1,000, 10,000 and 100,000 tasks.

Each size gets a generated PLAN.md shaped like a real one, only longer: every task
depends on 0–3 earlier tasks (nine in ten on one of the 40 before it, the rest anywhere
earlier) and declares 1–3 files from a pool as large as the plan (so a file is touched
by about two tasks; one task in a hundred declares a package glob of 20 files instead),
and has a two-line description. The timed work is what `plan check` does: parse and
validate (duplicates, unknown dependencies, cycles), then waves, critical path and
overlap groups; the best of a few runs is shown, step by step.

Goal: 10,000 tasks in at most 0.2 s, and 100,000 tasks at most 12 times slower than
10,000 (linear, give or take). For scale, the same ratio is printed for a trivially
linear workload (a dict of task IDs built and read back): on a machine where memory
access slows down with size, it is over 10 too. Run as `python bench/plan_parse.py`;
this is not a test.
"""

from __future__ import annotations

import gc
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orchestrator_tui.core.graph import critical_path, waves
from orchestrator_tui.core.overlap import overlap_groups
from orchestrator_tui.core.plan import parse_markdown

SIZES = (1_000, 10_000, 100_000)
GOAL_10K_SECONDS = 0.2
GOAL_RATIO = 12.0
REPEATS = 3


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


def check_plan(text: str) -> tuple[list[float], tuple[int, int, int]]:
    """Everything `plan check` computes: each step's seconds, and sizes to print."""
    times = []
    start = time.perf_counter()
    plan = parse_markdown(text)
    times.append(time.perf_counter() - start)
    start = time.perf_counter()
    plan_waves = waves(plan.tasks)
    times.append(time.perf_counter() - start)
    start = time.perf_counter()
    path = critical_path(plan.tasks)
    times.append(time.perf_counter() - start)
    start = time.perf_counter()
    groups = overlap_groups(plan.tasks)
    times.append(time.perf_counter() - start)
    return times, (len(plan_waves), len(path), len(groups))


def best_run(text: str, repeats: int) -> tuple[list[float], tuple[int, int, int]]:
    best: tuple[list[float], tuple[int, int, int]] | None = None
    for _ in range(repeats):
        gc.collect()
        run = check_plan(text)
        if best is None or sum(run[0]) < sum(best[0]):
            best = run
    assert best is not None
    return best


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


def main() -> int:
    totals: dict[int, float] = {}
    for size in SIZES:
        text = generate_plan(size)
        steps, (wave_count, path_length, group_count) = best_run(
            text, 1 if size >= 100_000 else REPEATS
        )
        totals[size] = sum(steps)
        detail = ", ".join(
            f"{name} {seconds:.3f}" for name, seconds in zip(STEPS, steps, strict=True)
        )
        print(
            f"{size:>7,} tasks ({len(text) / 1e6:4.1f} MB): {totals[size]:7.3f} s  ({detail}; "
            f"{wave_count} waves, critical path of {path_length}, {group_count} overlap groups)"
        )
    ratio = totals[100_000] / totals[10_000]
    baseline = dict_baseline(100_000) / dict_baseline(10_000)
    print(
        f"10,000 tasks: {totals[10_000]:.3f} s (goal ≤ {GOAL_10K_SECONDS} s: "
        f"{'met' if totals[10_000] <= GOAL_10K_SECONDS else 'missed'})"
    )
    print(
        f"100k/10k ratio: {ratio:.1f} (goal ≤ {GOAL_RATIO:g}: "
        f"{'met' if ratio <= GOAL_RATIO else 'missed'}); "
        f"a dict of IDs on this machine: {baseline:.1f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
