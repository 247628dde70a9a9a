"""How fast is the past-run timeline over a long run?

A recorded run of N tasks (each started, its usage, merged, finished; every stage and gate;
about 4·N events) is written as the engine writes it. Measured side by side in one run:

- open: read the log, fold it, build the timeline (core/timeline.py) — `load_past_run`;
- step: `Timeline.state_at(p ± 1)` one event on or back, and a jump to a random position,
  against folding from the start each time (what the checkpoints save);
- on screen: `PastRunScreen.go(p)` (state, plan view, every bound widget's update) and the
  next frame, in a headless app at 160×45: median and p95 of a step and of a jump.

Not a test: it prints.

    python bench/timeline.py [--tasks 500] [--steps 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from runs_support import write_run  # noqa: E402

from orchestrator_tui.core import events as ev  # noqa: E402
from orchestrator_tui.core.models import StageName, Task  # noqa: E402
from orchestrator_tui.core.state import replay  # noqa: E402
from orchestrator_tui.ui.past_runs import load_past_run  # noqa: E402
from orchestrator_tui.ui.runs_app import RunsApp  # noqa: E402
from orchestrator_tui.ui.screens.past_run import PastRunScreen  # noqa: E402

RUN_ID = "20250101-000000-be0c"


def recorded_run(tasks: int) -> list[ev.EventBase]:
    plan = tuple(
        Task(id=f"T{n}", title=f"task {n}", depends=(f"T{n // 2}",) if n > 1 else ())
        for n in range(1, tasks + 1)
    )
    t = 1_700_000_000.0
    out: list[ev.EventBase] = [ev.RunStarted(run_id=RUN_ID, workspace="/w", goal="bench", at=t)]
    for stage in (StageName.ANALYZE, StageName.PLAN):
        out += [
            ev.StageStarted(stage=stage, at=t),
            ev.StageFinished(stage=stage, status="done", at=t),
        ]
    out.append(ev.PlanFrozen(tasks=plan, waves=[[p.id for p in plan]], at=t))
    out.append(ev.StageStarted(stage=StageName.IMPLEMENT, at=t))
    for n, task in enumerate(plan):
        at = t + n
        out += [
            ev.TaskStarted(task=task.id, agent="sim", at=at),
            ev.TaskUsage(task=task.id, input_tokens=100, output_tokens=10, cost_usd=0.001, at=at),
            ev.TaskMerged(task=task.id, commit="c0ffee", at=at + 0.5),
            ev.TaskFinished(task=task.id, status="done", exit_code=0, at=at + 0.5),
        ]
    t += tasks
    out.append(ev.StageFinished(stage=StageName.IMPLEMENT, status="done", at=t))
    for stage in (StageName.SECURITY, StageName.TEST, StageName.CLEANUP, StageName.REVIEW):
        out += [
            ev.StageStarted(stage=stage, at=t),
            ev.StageFinished(stage=stage, status="done", at=t + 1),
            ev.GateOpened(stage=stage, at=t + 1),
            ev.GateDecided(stage=stage, decision="approve", by="app", at=t + 2),
        ]
        t += 2
    out.append(ev.RunFinished(outcome="complete", at=t))
    return out


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"


def core_figures(workspace: Path, steps: int, rng: random.Random) -> None:
    started = time.perf_counter()
    past = load_past_run(workspace, RUN_ID)
    opened = time.perf_counter() - started
    timeline = past.timeline
    print(f"events: {timeline.end:,}")
    print(f"open (read, fold, timeline): {opened * 1000:.0f} ms")
    middle = timeline.end // 2
    timeline.state_at(middle)
    forward, backward = [], []
    for n in range(steps):
        begin = time.perf_counter()
        timeline.state_at(middle + n + 1)
        forward.append(time.perf_counter() - begin)
    for n in range(steps):
        begin = time.perf_counter()
        timeline.state_at(middle + steps - n - 1)
        backward.append(time.perf_counter() - begin)
    jumps, scratch = [], []
    events = list(timeline.events)
    for _ in range(max(20, steps // 10)):
        position = rng.randrange(timeline.end + 1)
        begin = time.perf_counter()
        timeline.state_at(position)
        jumps.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        replay(events[:position])
        scratch.append(time.perf_counter() - begin)
    print(f"step on (state_at p+1):   {ms(forward)}")
    print(f"step back (state_at p-1): {ms(backward)}")
    print(f"jump (random position):   {ms(jumps)}")
    print(f"fold from the start:      {ms(scratch)}")
    ratio = statistics.median(scratch) / max(statistics.median(jumps), 1e-9)
    print(f"jump vs fold from the start: {ratio:.0f}x faster")


async def screen_figures(workspace: Path, steps: int, rng: random.Random) -> None:
    past = load_past_run(workspace, RUN_ID)
    app = RunsApp(workspace, past)
    async with app.run_test(size=(160, 45)) as pilot:
        while not isinstance(app.screen, PastRunScreen):
            await pilot.pause(0.05)
        screen = app.screen
        await pilot.pause(0.3)
        middle = past.timeline.end // 2
        screen.go(middle)
        await pilot.pause()
        idle, computed, stepped, jumped = [], [], [], []
        for _ in range(steps // 2):
            begin = time.perf_counter()
            await pilot.pause()  # a frame with nothing new: what a pause costs by itself
            idle.append(time.perf_counter() - begin)
        for n in range(steps // 2):
            begin = time.perf_counter()
            screen.go(middle + (n % 2))
            computed.append(time.perf_counter() - begin)
            await pilot.pause()
        for n in range(steps):
            begin = time.perf_counter()
            screen.go(middle + (n % 2))
            await pilot.pause()  # the frame after it
            stepped.append(time.perf_counter() - begin)
        for _ in range(max(20, steps // 10)):
            begin = time.perf_counter()
            screen.go(rng.randrange(past.timeline.end + 1))
            await pilot.pause()
            jumped.append(time.perf_counter() - begin)
        print(f"on screen, a pause alone (no change): {ms(idle)}")
        print(f"on screen, a step's go() alone:       {ms(computed)}")
        print(f"on screen, a step (go + next frame): {ms(stepped)}")
        print(f"on screen, a jump (go + next frame): {ms(jumped)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="orchestrator-bench-timeline-") as tmp:
        workspace = Path(tmp)
        write_run(workspace, RUN_ID, recorded_run(args.tasks))
        print(f"a run of {args.tasks} tasks")
        core_figures(workspace, args.steps, rng)
        asyncio.run(screen_figures(workspace, args.steps, rng))


if __name__ == "__main__":
    main()
