"""Follow one marked output line from the agent's pipe to the drawn screen.

One real agent (the `command` backend, a subprocess) prints a few lines, then a line with
a unique mark. Each place the line passes records a hop: what happened, on which thread,
inside which timer callback (a textual Timer on the stack), and when. Prints the hops, the
threads and the timers crossed. Goal (issue 11): ≤ 3 threads, ≤ 2 timers.

    python bench/ui_flood.py --trace        (or: python bench/trace_line.py)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from textual.strip import Strip
from textual.timer import Timer

from orchestrator_tui.agents import make_backend, supervisor
from orchestrator_tui.agents.base import OutputParser
from orchestrator_tui.agents.lines import LineReader
from orchestrator_tui.agents.watch import Watch
from orchestrator_tui.core.config import AgentProfile, config_from_dict
from orchestrator_tui.core.events import EventSink
from orchestrator_tui.core.models import STAGES
from orchestrator_tui.core.protocols import AgentBackend
from orchestrator_tui.engine.output import OutputBuffers
from orchestrator_tui.engine.pipeline import Engine, EngineOptions
from orchestrator_tui.runtime import make_isolation
from orchestrator_tui.ui.app import create_app
from orchestrator_tui.ui.widgets.agent_logs import AgentLogPanes
from orchestrator_tui.ui.widgets.log_view import LogView

MARK = f"TRACE-{uuid.uuid4().hex[:12]}"
AGENT = f"""\
import time
for i in range(5):
    print("warming up", i, flush=True)
time.sleep(1.0)
print("{MARK} written at", repr(time.time()), flush=True)
time.sleep(2.0)
"""


class Hops:
    def __init__(self) -> None:
        self.hops: list[tuple[str, str, str, float]] = []
        self.lock = threading.Lock()

    def add(self, what: str) -> None:
        with self.lock:
            if any(h[0] == what for h in self.hops):
                return  # the first pass of the mark only
            self.hops.append((what, threading.current_thread().name, timer(), time.time()))


def timer() -> str:
    """The textual Timer whose callback is running, if any (walks the coroutine stack)."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == "_tick" and isinstance(frame.f_locals.get("self"), Timer):
            tick: Timer = frame.f_locals["self"]
            callback = getattr(tick._callback, "__qualname__", tick.name)
            return f"{callback} every {tick._interval * 1000:.0f} ms"
        frame = frame.f_back
    return ""


def instrument(hops: Hops) -> None:
    """Wrap the places a line passes (the real methods, called as usual)."""

    def wrap(cls: type, name: str, hop: str, test) -> None:  # type: ignore[no-untyped-def]
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            before = test(self, args, None)
            result = original(self, *args, **kwargs)
            if before or test(self, args, result):
                hops.add(hop)
            return result

        setattr(cls, name, wrapper)

    def in_args(self, args, result) -> bool:  # type: ignore[no-untyped-def]
        return any(MARK in (a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a))
                   for a in args)  # fmt: skip

    wrap(LineReader, "feed", "1 read from the agent's pipe (os.read, selector loop)", in_args)
    wrap(Watch, "line", "2 a whole line: masked, capped, decoded (lines.py)", in_args)
    wrap(OutputParser, "line", "3 the backend's parser: line → display lines", in_args)
    wrap(
        Watch,
        "flush",
        "4 end of the loop turn: events.output (TaskReporter)",
        lambda self, args, result: result is None and any(MARK in x for x in self.pending),
    )
    wrap(OutputBuffers, "add", "5 into the task's output buffer (one lock)", in_args)
    wrap(
        OutputBuffers,
        "drain",
        "6 drained by the log panes' tick",
        lambda self, args, result: bool(result) and any(MARK in x for b in result for x in b.lines),
    )
    wrap(AgentLogPanes, "append", "7 into the pane's line buffer", in_args)
    wrap(
        LogView,
        "lines_added",
        "8 the view told that it grew (refresh)",
        lambda self, args, result: any(MARK in x for x in list(self.lines)[-50:]),
    )
    original_render = LogView.render_line

    def render_line(self: LogView, y: int) -> Strip:
        strip = original_render(self, y)
        if MARK in strip.text:
            hops.add("9 drawn: the frame renders its row")
        return strip

    LogView.render_line = render_line  # type: ignore[method-assign]


async def trace() -> None:
    hops = Hops()
    instrument(hops)
    root = Path(tempfile.mkdtemp(prefix="trace-line-"))
    (root / "PLAN.md").write_text("# Plan: Trace\n\n## T1: Trace\ndepends: none\n")
    (root / "agent.py").write_text(AGENT)
    config = config_from_dict(
        {
            "agents": {
                "default": "a",
                "a": {"backend": "command", "command": [sys.executable, str(root / "agent.py")]},
            },
            "run": {"isolation": "none", "retries": 0},
            "notify": {"bell": False},
        }
    )
    options = EngineOptions(workspace=root, config=config, approve=frozenset(STAGES), watch=False)

    def factory(options: EngineOptions, sinks: Sequence[EventSink]) -> Engine:
        def backends(name: str, profile: AgentProfile) -> AgentBackend:
            return make_backend(root, name, profile)

        return Engine(options, {}, backends, make_isolation, sinks, driver=supervisor.shared())

    app = create_app(options, factory)  # type: ignore[arg-type]
    app.handle.open()
    async with app.run_test(size=(160, 45)) as pilot:
        deadline = time.monotonic() + 30
        while not any(h[0].startswith("9") for h in hops.hops) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        written = 0.0
        for line in app.run_screen.logs.view.lines:
            if MARK in line:
                written = float(line.split("written at")[1].strip().strip("'"))
        await pilot.press("ctrl+q")
    app.shutdown_engine()
    report(hops, written)


def report(hops: Hops, written: float) -> None:
    print(f"one line ({MARK}) from the agent's pipe to the screen")
    print(f"{'hop':58} {'thread':18} {'timer callback':36} {'+ms':>6}")
    first = "0 the agent writes it to its stdout pipe"
    print(f"{first:58} {'(agent process)':18} {'':36} {0:6.1f}")
    for what, thread, tick, at in sorted(hops.hops):
        print(f"{what:58} {thread:18} {tick:36} {(at - written) * 1000:6.1f}")
    threads = list(dict.fromkeys(h[1] for h in sorted(hops.hops)))
    timers = list(dict.fromkeys(h[2].split(" every")[0] for h in sorted(hops.hops) if h[2]))
    missing = 9 - len(hops.hops)
    print(
        f"hops {len(hops.hops)}{f' ({missing} not seen)' if missing else ''}; "
        f"threads {len(threads)} ({', '.join(threads)}; goal ≤ 3); "
        f"timers {len(timers)} ({', '.join(timers)}; goal ≤ 2); "
        f"locks 1 (the output buffer's)"
    )


if __name__ == "__main__":
    asyncio.run(trace())
