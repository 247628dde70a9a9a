"""Frame time of the DAG pane's graph with a 500-task plan: open, scroll, a status change.

The app runs headless at 160×45 on a quiet engine (no agents: events are fed as the
engine's sink delivers them). A plan of 500 tasks in 25 waves of 20, each task after one
to three tasks of the wave before (one in ten also after a task two waves back), as a
large generated plan looks. Three kinds of frame, each timed from its cause to the
moment the frame has drawn what it changed (the graph's `render_line` for the rows in
sight, or for the changed row), so the figure includes the wait for Textual's screen
update (at most 1/60 s) as a user sees it:

- open: the plan arrives (PlanFrozen): fold, lay out 500 tasks, route the edges, draw;
  two plans alternate, so every open lays a graph out anew;
- scroll: a key that moves the cursor a page down its layer or along an edge to the
  next layer (the pane scrolls down or sideways), and back;
- status: a task in sight starts or finishes (its node's glyph and colour).

Also the pane's own work per frame (its `sync` and `render_line`, on the UI thread).
Goal (issue 15): median ≤ 16 ms, p95 ≤ 50 ms. Figures, not a test.

    python bench/dag_frame.py [--tasks 500] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual import events
from textual.strip import Strip

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.events import EventSink
from orchestrator_tui.core.graph import critical_path, waves
from orchestrator_tui.core.models import StageName, Task
from orchestrator_tui.core.state import RunState
from orchestrator_tui.engine.pipeline import EngineOptions
from orchestrator_tui.ui.app import create_app, feed

SIZE = (160, 45)
T0 = 1_700_000_000.0


class QuietEngine:
    """The engine's face with nothing behind it: the bench feeds the events."""

    def __init__(self, options: EngineOptions, sinks: Sequence[EventSink]) -> None:
        self.options = options
        self.state = RunState()
        self.files = None
        self.plan = None

    def open(self) -> str:
        return "bench"

    def run(self) -> str:
        return ""

    def submit(self, action: str, task: str = "", feedback: str = "", by: str = "app") -> None:
        return None

    def stop(self) -> None:
        return None

    def close(self) -> None:
        return None


def big_plan(count: int, prefix: str, seed: int) -> tuple[Task, ...]:
    rng = random.Random(seed)
    per_wave = 20
    tasks = []
    for n in range(count):
        wave = n // per_wave
        before = [f"{prefix}{m:03d}" for m in range((wave - 1) * per_wave, wave * per_wave)]
        depends = rng.sample(before, rng.randint(1, 3)) if wave else []
        if wave >= 2 and rng.random() < 0.1:
            depends.append(
                f"{prefix}{rng.randrange((wave - 2) * per_wave, (wave - 1) * per_wave):03d}"
            )
        tasks.append(
            Task(
                id=f"{prefix}{n:03d}", title=f"Part {n} of the big refactor", depends=tuple(depends)
            )
        )
    return tuple(tasks)


def frozen(tasks: tuple[Task, ...], seq: int) -> ev.PlanFrozen:
    return ev.PlanFrozen(
        tasks=tasks,
        waves=waves(tasks),
        critical_path=critical_path(tasks),
        seq=seq,
        at=T0 + seq,
    )


def figures(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"{name:<8} median {statistics.median(ms):5.1f} ms   p95 {p95:5.1f} ms   n={len(ms)}"


async def measure(args: argparse.Namespace) -> None:
    root = Path(tempfile.mkdtemp(prefix="dag-frame-"))
    config = config_from_dict({"notify": {"bell": False}})
    options = EngineOptions(workspace=root, config=config, watch=False)
    app = create_app(options, QuietEngine, start_engine=False, animations=False)  # type: ignore[arg-type]
    plans = [big_plan(args.tasks, "A", 1), big_plan(args.tasks, "B", 2)]
    seq = 0
    results: dict[str, list[float]] = {"open": [], "scroll": [], "status": []}
    work: dict[str, list[float]] = {"open": [], "scroll": [], "status": []}
    profiler = None
    if os.environ.get("DAG_PROFILE"):
        import cProfile

        profiler = cProfile.Profile()
    profiled = os.environ.get("DAG_PROFILE_KIND", "")  # only frames of this kind
    async with app.run_test(size=SIZE) as pilot:
        if profiler is not None and not profiled:
            profiler.enable()
        while not app.sink.connected:
            await asyncio.sleep(0.01)
        graph = app.run_screen.graph
        drawn: dict[int, float] = {}
        busy = [0.0]
        draw_line, sync = graph.render_line, graph.sync

        def render_line(y: int) -> Strip:
            started = time.perf_counter()
            strip = draw_line(y)
            done = time.perf_counter()
            busy[0] += done - started
            drawn[round(graph.scroll_offset.y) + y] = done
            return strip

        def timed_sync(force_frame: bool = False) -> None:
            started = time.perf_counter()
            sync(force_frame)
            busy[0] += time.perf_counter() - started

        graph.render_line = render_line  # type: ignore[method-assign]
        graph.sync = timed_sync  # type: ignore[method-assign]

        async def frame(kind: str, cause: Callable[[], None], rows: Callable[[], set[int]]) -> None:
            """Time one cause to its frame; a cause that changes nothing in 0.2 s (a key
            at the end of a layer) is left out."""
            drawn.clear()
            busy[0] = 0.0
            before = (graph.scroll_offset, graph.selected_task, graph.frame)
            if profiler is not None and kind == profiled:
                profiler.enable()
            started = time.perf_counter()
            cause()
            deadline = started + 5
            while time.perf_counter() < deadline:
                await asyncio.sleep(0.0005)
                if (graph.scroll_offset, graph.selected_task, graph.frame) == before:
                    if kind == "scroll" and time.perf_counter() > started + 0.2:
                        return
                    if kind == "scroll":
                        continue
                wanted = rows()
                if wanted and all(row in drawn for row in wanted):
                    break
            results[kind].append(max(drawn.values(), default=time.perf_counter()) - started)
            if profiler is not None and kind == profiled:
                profiler.disable()
            await asyncio.sleep(0.03)  # let the frame settle before the next cause
            work[kind].append(busy[0])

        def in_sight_or_cursor() -> set[int]:
            """The rows in sight if the pane scrolled, else those the cursor lit."""
            if graph.scroll_offset != moved_from[0]:
                return in_sight()
            return graph.graph.rows_touched(graph.selected_task or "") & in_sight()

        def in_sight() -> set[int]:
            top = round(graph.scroll_offset.y)
            height = graph.scrollable_content_region.height
            return set(range(top, min(graph.graph.height, top + height)))

        seq += 1
        feed(app, [ev.RunStarted(run_id="bench", workspace=str(root), seq=seq, at=T0)])
        seq += 1
        feed(app, [ev.StageStarted(stage=StageName.IMPLEMENT, seq=seq, at=T0 + 1)])
        await asyncio.sleep(0.2)
        for round_ in range(args.rounds):
            seq += 1
            plan = plans[round_ % 2]
            event = frozen(plan, seq)
            await frame("open", lambda e=event: feed(app, [e]), in_sight)
        graph.focus()
        moved_from = [graph.scroll_offset]
        keys = ["pagedown", "pagedown", "right", "right", "pageup", "left", "pagedown", "left"]
        for _ in range(args.rounds):
            for key in keys:
                moved_from[0] = graph.scroll_offset
                await frame(
                    "scroll",
                    lambda k=key: app.post_message(events.Key(k, None)),
                    in_sight_or_cursor,
                )
        plan = plans[(args.rounds - 1) % 2]
        for round_ in range(args.rounds * 2):
            task = graph.graph.layer(0)[round_ % 10]
            row = graph.graph.place[task][1]
            seq += 1
            if round_ < args.rounds:
                change = ev.TaskStarted(task=task, agent="sim", seq=seq, at=T0 + seq)
            else:
                change = ev.TaskFinished(
                    task=task, status="done", reason="ok", seq=seq, at=T0 + seq
                )
            await frame("status", lambda c=change: feed(app, [c]), lambda r=row: {r} & in_sight())
        layout = graph.graph
        if profiler is not None:
            profiler.disable()  # DAG_PROFILE=file [DAG_PROFILE_KIND=open|scroll|status]
            profiler.dump_stats(os.environ["DAG_PROFILE"])
        await pilot.press("ctrl+q")
    print(
        f"{args.tasks} tasks: {layout.layer_count} layers, {layout.height} rows, "
        f"{sum(g.width for g in layout.gutters)} gutter columns; pane {SIZE[0]}×{SIZE[1]}"
    )
    print("cause → frame drawn (includes the wait for the screen update, ≤ 1/60 s):")
    for kind, samples in results.items():
        print("  " + figures(kind, samples))
    print("the pane's own work in that frame (sync + render_line):")
    for kind, samples in work.items():
        print("  " + figures(kind, samples))
    every = [s for samples in results.values() for s in samples]
    print(figures("all", every).replace("all     ", "all frames:", 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
