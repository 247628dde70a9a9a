"""Flood the app: N agents each write R lines/s for S seconds (default 16 × 2,000 × 20 s)
into the running app, headless. Each agent is a real subprocess run by the `command`
backend, so the lines take the real path: pipe → the one supervisor thread (log file,
secret masking, the backend's parser) → the task's output buffer → drained by the log
panes' timer on the UI thread (`--trace` follows one line and prints each hop).

Prints: lines ingested per second by the app; the lag of the newest line on screen when
the flood ends (the agent wrote it → a frame drew it); key-to-screen latency during the
flood (a key press, posted as the terminal driver does → the frame that draws the DAG
pane's cursor on its new row); how late the event loop wakes; peak RSS; the process's
thread count and CPU by thread during the flood; and whether every line reached the tasks'
log files. Goals (issue 11): lag ≤ 250 ms, key-to-screen p95 ≤ 50 ms, RSS ≤ 300 MB, no
line lost. Figures, not a test. Run it with another checkout's interpreter to measure that
checkout (the script uses only what both have). `--tiles`: the same with the agents side by
side (`v`: six tiles at 160×45), the key moving between tiles.

    python bench/ui_flood.py [--agents 16] [--rate 2000] [--seconds 20] [--trace] [--tiles]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual import events
from textual.strip import Strip

from orchestrator_tui.agents import make_backend, supervisor
from orchestrator_tui.core.config import AgentProfile, config_from_dict
from orchestrator_tui.core.events import EventSink
from orchestrator_tui.core.models import STAGES
from orchestrator_tui.core.protocols import AgentBackend
from orchestrator_tui.engine.pipeline import Engine, EngineOptions
from orchestrator_tui.runtime import make_isolation
from orchestrator_tui.ui.app import create_app
from orchestrator_tui.ui.orchestrator_app import FOLLOW_DELAY
from orchestrator_tui.ui.view import running_tasks
from orchestrator_tui.ui.widgets.agent_logs import AgentLogPanes, Pane
from orchestrator_tui.ui.widgets.agent_tile import AgentTile
from orchestrator_tui.ui.widgets.agent_tiles import AgentTiles
from orchestrator_tui.ui.widgets.log_view import LogView

TICK = 0.01  # each agent writes a burst every 10 ms
DATA = re.compile(r"^(\S+) (\d{7}) t=(\d+\.\d+) ")
ELIDED = re.compile(r"… ([\d,]+) more lines in the log file …")

PRODUCER = """\
import sys, time
task, rate = sys.argv[1], int(sys.argv[2])
seconds, tick_seconds = float(sys.argv[3]), float(sys.argv[4])
per_tick = max(1, round(rate * tick_seconds))
ticks = int(seconds / tick_seconds)
out = sys.stdout
start = time.time()
for tick in range(ticks):
    now = time.time()
    base = tick * per_tick
    out.write("".join(
        f"{task} {base + i:07d} t={now:.6f} → Edit src/{task.lower()}.py: replaced the "
        "handler, ran the tests again\\n" for i in range(per_tick)))
    out.flush()
    delay = start + (tick + 1) * tick_seconds - time.time()
    if delay > 0:
        time.sleep(delay)
"""


def workspace(agents: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="ui-flood-"))
    tasks = "\n".join(f"## F{n}: Flood {n}\ndepends: none\nfiles: f{n}.py\n" for n in range(agents))
    (root / "PLAN.md").write_text(f"# Plan: Flood\n\n{tasks}", encoding="utf-8")
    (root / "producer.py").write_text(PRODUCER, encoding="utf-8")
    return root


async def flood(args: argparse.Namespace) -> None:
    root = workspace(args.agents)
    producer = [sys.executable, str(root / "producer.py"), "{task_id}"]
    config = config_from_dict(
        {
            "agents": {
                "default": "flood",
                "flood": {
                    "backend": "command",
                    "command": [*producer, str(args.rate), str(args.seconds), str(TICK)],
                },
            },
            "run": {"concurrency": args.agents, "isolation": "none", "retries": 0},
            "notify": {"bell": False},
        }
    )
    options = EngineOptions(
        workspace=root, config=config, approve=frozenset(STAGES), watch=False, heartbeat=1.0
    )

    def factory(options: EngineOptions, sinks: Sequence[EventSink]) -> Engine:
        # The real backends and isolation; no stage runners (only implement matters here).
        def backends(name: str, profile: AgentProfile) -> AgentBackend:
            return make_backend(root, name, profile)

        return Engine(options, {}, backends, make_isolation, sinks, driver=supervisor.shared())

    app = create_app(options, factory)  # type: ignore[arg-type]
    app.handle.open()
    latencies: list[float] = []
    expected = int(args.seconds / TICK) * max(1, round(args.rate * TICK))
    async with app.run_test(size=(160, 45)) as pilot:
        logs = app.run_screen.logs
        graph = app.run_screen.graph  # the DAG pane as it opens: the graph
        while sum(1 for t in app.state.tasks.values() if t.status == "running") < args.agents:
            await asyncio.sleep(0.01)
        tiles = app.run_screen.tiles
        if args.tiles:  # the agents side by side: six tiles at 160×45
            await pilot.press("v")
            await asyncio.sleep(0.1)
        flood_started = time.perf_counter()
        stalls: list[float] = []

        async def watch_loop() -> None:
            """How late a 10 ms sleep wakes up: the event loop's own responsiveness."""
            while True:
                asked = time.perf_counter()
                await asyncio.sleep(0.01)
                stalls.append(time.perf_counter() - asked - 0.01)

        watcher = asyncio.ensure_future(watch_loop())
        ui_cpu_start, cpu_start = time.thread_time(), time.process_time()
        if os.environ.get("FLOOD_PROFILE"):
            import cProfile

            profiler = cProfile.Profile(time.thread_time)  # CPU of the UI thread
            profiler.enable()
        # A key's latency ends when the frame draws the row the cursor moved to.
        cursor_drawn: dict[str, float] = {}
        draw_row = graph.render_line

        def render_row(y: int) -> Strip:
            strip = draw_row(y)
            cursor = graph.selected_task
            if cursor and y == graph.graph.place[cursor][1] - round(graph.scroll_offset.y):
                cursor_drawn[cursor] = time.perf_counter()
            return strip

        graph.render_line = render_row  # type: ignore[method-assign]
        for tile in tiles.tiles:  # in tiles: the frame that draws the selected tile
            tile.render_line = tile_probe(tile, tiles, cursor_drawn)  # type: ignore[method-assign]
        drawn: dict[str, float] = {}  # when an agent's last line was first drawn
        shown_since: dict[str, float] = {}  # when each agent's tile came on show
        for tile in tiles.tiles if args.tiles else []:  # any agent's, on whichever tile
            last_line_probe(tile, "", expected, drawn)
            tile.assign = assign_probe(tile, shown_since)  # type: ignore[method-assign]
            if tile.task_id:
                shown_since.setdefault(tile.task_id, time.time())
        key = "down"
        threads: dict[str, float] = {}
        thread_count, python_threads = 0, []
        while time.perf_counter() - flood_started < args.seconds - 0.5:
            if not threads and time.perf_counter() - flood_started > args.seconds * 0.8:
                threads = cpu_by_thread()  # while the agents' threads still live
                thread_count = len(list(Path("/proc/self/task").iterdir()))
                python_threads = sorted(t.name for t in threading.enumerate())
            await asyncio.sleep(0.25)
            # A key as the terminal driver delivers it; wait for the frame that shows it.
            if args.tiles:
                order = tiles.order
                step = 1 if key == "down" else -1
                target = order[max(0, min(len(order) - 1, tiles.selected + step))]
            else:
                layer = graph.graph.layer(0)  # the flood's tasks: one layer, no dependencies
                here = layer.index(graph.selected_task or layer[0])
                target = layer[max(0, min(len(layer) - 1, here + (1 if key == "down" else -1)))]
            cursor_drawn.pop(target, None)
            pressed = time.perf_counter()
            app.post_message(
                events.Key(("right" if key == "down" else "left") if args.tiles else key, None)
            )
            while target not in cursor_drawn and time.perf_counter() - pressed < 5:
                await asyncio.sleep(0.002)
            latencies.append(cursor_drawn.get(target, time.perf_counter()) - pressed)
            key = "up" if key == "down" else "down"
        watcher.cancel()
        # The end of the flood: when the pane on show draws its agent's last line — the
        # moment its row is rendered for a frame — against when the agent wrote it. In
        # tiles: the last line of every agent whose tile was on show as it ended (an
        # ended agent's tile may give way to running ones), the worst of them.
        watched = ""
        if not args.tiles:
            await asyncio.sleep(FOLLOW_DELAY + 0.08)  # the log pane follows the last key
            watched = logs.active or ""
            last_line_probe(logs.view, watched, expected, drawn)
        deadline = time.perf_counter() + 15
        while time.perf_counter() < deadline:
            if (watched in drawn) if watched else (drawn and not running_tasks(app.state)):
                break
            await asyncio.sleep(0.001)
        # Only agents on show when they wrote it: a tile that comes on show later (an
        # ended agent's, filling a free slot) draws an old line, which is no lag.
        seen = [t for t in drawn if shown_since.get(t, 1e18) <= written_at(logs, t, expected)]
        if args.tiles and seen:
            watched = max(seen, key=lambda t: drawn[t] - written_at(logs, t, expected))

        lines = logs.panes[watched].lines if watched in logs.panes else []
        written = written_at(logs, watched, expected)
        lag = drawn.get(watched, float("nan")) - written
        if watched not in drawn:
            print("final line not drawn; the pane ends with:", list(lines)[-5:])
        flood_seconds = time.perf_counter() - flood_started
        ui_cpu, cpu = time.thread_time() - ui_cpu_start, time.process_time() - cpu_start
        if os.environ.get("FLOOD_PROFILE"):
            profiler.disable()
            profiler.dump_stats(os.environ["FLOOD_PROFILE"])
        received = logs.lines_received
        elided = sum(
            int(m.group(1).replace(",", ""))
            for pane in logs.panes.values()
            for line in pane.lines
            if (m := ELIDED.search(line))
        )
        await pilot.press("ctrl+q")
    app.shutdown_engine()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run_id = app.handle.files.run_id if app.handle.files else ""
    lost = check_logs(root, run_id, args.agents, expected)

    total = args.agents * expected
    if args.tiles:
        print(f"layout                       agents side by side (v): 6 tiles of {args.agents}")
    print(
        f"agents × rate × seconds      {args.agents} × {args.rate:,} lines/s × {args.seconds:g} s"
    )
    print(f"lines written by the agents  {total:,} ({total / args.seconds:,.0f} lines/s)")
    print(
        f"lines ingested by the app    {received:,} in {flood_seconds:.1f} s = "
        f"{received / flood_seconds:,.0f} lines/s (+ {elided:,} elided by the output "
        "buffers as '… N more lines' markers; they are in the log files)"
    )
    print(
        f"lag of the newest line       {lag * 1000:.0f} ms, written → drawn on screen "
        "(goal ≤ 250 ms)"
    )
    if latencies:
        ms = sorted(x * 1000 for x in latencies)
        if os.environ.get("FLOOD_DEBUG"):
            print("latencies ms", [round(x) for x in ms])
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        print(
            f"key-to-screen during flood   median {statistics.median(ms):.0f} ms, "
            f"p95 {p95:.0f} ms, max {ms[-1]:.0f} ms over {len(ms)} presses (goal p95 ≤ 50 ms)"
        )
    if stalls:
        late = sorted(x * 1000 for x in stalls)
        print(
            f"event loop oversleep         median {statistics.median(late):.0f} ms, "
            f"p95 {late[int(len(late) * 0.95)]:.0f} ms, max {late[-1]:.0f} ms "
            "(a 10 ms sleep: how long the UI thread waits to run at all)"
        )
    print(f"peak RSS                     {rss_mb:.0f} MB (goal ≤ 300 MB)")
    names: dict[str, int] = {}
    for name in python_threads:
        base = re.sub(r"-F\d+$", "-F…", name)
        names[base] = names.get(base, 0) + 1
    named = ", ".join(f"{n} × {name}" if n > 1 else name for name, n in sorted(names.items()))
    print(
        f"threads during the flood     {thread_count} in the process "
        f"({len(python_threads)} Python threads: {named})"
    )
    print(
        f"CPU during the flood         UI thread {ui_cpu:.1f} s, whole process {cpu:.1f} s "
        f"(engine, agent supervision, app) in {flood_seconds:.1f} s"
    )
    by_thread = ", ".join(
        f"{name} {cpu:.1f} s" for name, cpu in sorted(threads.items(), key=lambda item: -item[1])
    )
    print(f"CPU by thread, to 80 % of it {by_thread}")
    print(f"every line in the log files  {'yes' if not lost else 'NO: ' + lost}")


def written_at(logs: AgentLogPanes, task: str, expected: int) -> float:
    """When the agent wrote its last line (the time in the line itself)."""
    lines = logs.panes[task].lines if task in logs.panes else []
    last = f"{task} {expected - 1:07d} "
    tail = [lines[-back] for back in range(1, min(9, len(lines) + 1))]
    match = DATA.match(next((line for line in tail if line.startswith(last)), ""))
    return float(match.group(3)) if match else float("nan")


def assign_probe(tile: AgentTile, shown_since: dict[str, float]) -> Callable:
    """The tile's assign, noting when each agent's tile first came on show."""
    assign = tile.assign

    def assigned(pane: Pane | None) -> None:
        if pane is not None:  # the first time (an agent moving to another tile stays)
            shown_since.setdefault(pane.task_id, time.time())
        assign(pane)

    return assigned


def last_line_probe(
    view: LogView | AgentTile, watched: str, expected: int, drawn: dict[str, float]
) -> None:
    """Note when `view` first draws `watched`'s last line (any agent's, when `watched`
    is empty)."""
    draw_line = view.render_line
    last = f" {expected - 1:07d} "

    def render_line(y: int) -> Strip:
        strip = draw_line(y)
        text = strip.text
        task = text.split(" ", 1)[0]
        if text.startswith(f"{task}{last}") and (not watched or task == watched):
            drawn.setdefault(task, time.time())
        return strip

    view.render_line = render_line  # type: ignore[method-assign]
    view.refresh()


def tile_probe(tile: AgentTile, tiles: AgentTiles, drawn: dict[str, float]) -> Callable:
    """The tile's render_line, noting when the selected tile draws its first row."""
    draw = tile.render_line

    def render_line(y: int) -> Strip:
        strip = draw(y)
        if y == 0 and tile.task_id and tile.task_id == tiles.selected_task:
            drawn[tile.task_id] = time.perf_counter()
        return strip

    return render_line


def cpu_by_thread() -> dict[str, float]:
    """CPU seconds of this process's live threads, grouped by name (Linux /proc)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    ticks = os.sysconf("SC_CLK_TCK")
    groups: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), "other")
        group = {
            "MainThread": "UI (app)",
            "agent-stdout": "output pumps",
            "agent-stderr": "output pumps",
            "output-batcher": "engine batcher",
            "agent-supervisor": "agent supervisor (all agents)",
            "engine": "engine",
        }.get(name, "agent supervisors" if name.startswith("agent-") else "other")
        groups[group] = groups.get(group, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return groups


def check_logs(root: Path, run_id: str, agents: int, expected: int) -> str:
    """'' when each task's log holds every line its agent wrote, in order."""
    problems = []
    for n in range(agents):
        path = root / ".orchestrator" / "runs" / run_id / "logs" / f"F{n}.log"
        numbers = [
            int(m.group(2))
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
            if (m := DATA.match(line))
        ]
        if numbers != list(range(expected)):
            problems.append(f"F{n}: {len(numbers):,} of {expected:,} lines")
    return "; ".join(problems)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=16)
    parser.add_argument("--rate", type=int, default=2000, help="lines per second per agent")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--trace", action="store_true", help="follow one line to the screen")
    parser.add_argument("--tiles", action="store_true", help="the agents side by side (v)")
    args = parser.parse_args()
    if args.trace:
        from trace_line import trace

        asyncio.run(trace())
        return
    asyncio.run(flood(args))


if __name__ == "__main__":
    main()
