"""Shared helpers for the app tests: a scripted fake engine, recorded runs with fixed
times (so that pictures are the same on every machine), and app builders."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

from textual.message import Message
from textual.notifications import Notify

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import Config, config_from_dict
from orchestrator_tui.core.events import EventSink
from orchestrator_tui.core.models import Plan, StageName, Task
from orchestrator_tui.core.state import RunState, apply
from orchestrator_tui.engine.pipeline import EngineOptions
from orchestrator_tui.infra.session import submit
from orchestrator_tui.infra.store import RunFiles
from orchestrator_tui.ui.app import OrchestratorApp, create_app
from orchestrator_tui.ui.sink import EngineSink

T0 = 1_700_000_000.0
NOW = T0 + 95.0  # the frozen clock of every picture
RUN_ID = "20231114-221320-ab12"
WORKSPACE = "/home/dev/shop"


def frozen_clock() -> float:
    return NOW


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Runs an async test in its own event loop (the project has no async pytest plugin);
    pytest still sees the test's own arguments (fixtures, parameters)."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


# ---- a fake engine ------------------------------------------------------------------------


class FakeEngine:
    """Exposes what the app uses. `script(engine)` runs in the engine thread (emit events
    from there as the real engine would); then run() waits until stop(). Every call is
    recorded; `submit` also writes the real inbox file."""

    def __init__(
        self,
        options: EngineOptions,
        sinks: Sequence[EventSink],
        script: Callable[[FakeEngine], None] | None = None,
        outcome: str = "",
        hold: bool = True,
    ) -> None:
        self.options = options
        self.sinks = list(sinks)
        self.state = RunState()
        self.files: RunFiles | None = RunFiles(options.workspace, RUN_ID)
        self.plan: Plan | None = None
        self.emit_lock = threading.RLock()
        self.script = script
        self.outcome = outcome
        self.hold = hold
        self.calls: list[tuple[str, ...]] = []
        self.stopping = threading.Event()
        self.closed = False

    def open(self) -> str:
        self.calls.append(("open",))
        return RUN_ID

    def emit(self, event: ev.EventBase) -> None:
        with self.emit_lock:
            if event.persisted:
                event = event.model_copy(update={"seq": self.state.last_seq + 1})
            self.state = apply(self.state, event)
            for sink in self.sinks:
                sink.emit(event)

    def run(self) -> str:
        self.calls.append(("run",))
        if self.script is not None:
            self.script(self)
        if self.hold:
            self.stopping.wait(30)
        return self.outcome

    def submit(self, action: str, task: str = "", feedback: str = "", by: str = "app") -> object:
        self.calls.append(("submit", action, task, feedback, by))
        return submit(self.options.workspace, action, task, feedback, by)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.calls.append(("stop",))
        self.stopping.set()

    def close(self) -> None:
        self.closed = True

    def submitted(self) -> list[tuple[str, ...]]:
        return [c[1:] for c in self.calls if c[0] == "submit"]


def sim_config(script: str = "", retries: int = 1) -> Config:
    return config_from_dict(
        {
            "agents": {
                "default": "sim",
                "sim": {"backend": "simulated", "speed": 20.0, "script": script},
            },
            "run": {"retry_backoff": 0.05, "isolation": "none", "retries": retries},
            "notify": {"bell": False},
        }
    )


def options_for(workspace: Path, **values: object) -> EngineOptions:
    settings: dict = {"poll_interval": 0.01, "heartbeat": 0.2, "config": sim_config()}
    settings.update(values)
    return EngineOptions(workspace=workspace, **settings)


def fake_app(
    workspace: Path,
    script: Callable[[FakeEngine], None] | None = None,
    start_engine: bool = True,
    **engine_args: object,
) -> tuple[OrchestratorApp, FakeEngine]:
    """An app on a FakeEngine, with a frozen clock and no animation."""
    workspace.mkdir(parents=True, exist_ok=True)
    made: list[FakeEngine] = []

    def factory(options: EngineOptions, sinks: Sequence[EventSink]) -> FakeEngine:
        made.append(FakeEngine(options, sinks, script, **engine_args))  # type: ignore[arg-type]
        return made[0]

    app = create_app(
        options_for(workspace),
        factory,  # type: ignore[arg-type]
        clock=frozen_clock,
        start_engine=start_engine,
        animations=False,
    )
    return app, made[0]


def inbox_commands(workspace: Path) -> list[dict]:
    import json

    inbox = workspace / ".orchestrator" / "inbox"
    return [json.loads(p.read_text()) for p in sorted(inbox.glob("*.json"))]


async def wait_until(pilot: object, test: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `test()` holds (UI-side conditions in Pilot tests)."""
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)  # type: ignore[attr-defined]


# ---- Pilot helpers -------------------------------------------------------------------------


class Messages:
    """A message_hook that keeps what the app received."""

    def __init__(self) -> None:
        self.seen: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.seen.append(message)

    def notes(self) -> list[tuple[str, str]]:
        return [
            (m.notification.severity, m.notification.message)
            for m in self.seen
            if isinstance(m, Notify)
        ]

    def events(self) -> list[ev.EventBase]:
        return [m.event for m in self.seen if isinstance(m, EngineSink.Event)]


def emit_all(events: list[ev.EventBase]) -> Callable[[FakeEngine], None]:
    def script(engine: FakeEngine) -> None:
        for event in events:
            engine.emit(event)

    return script


async def select(pilot: object, app: OrchestratorApp, task_id: str) -> None:
    screen = app.run_screen
    await wait_until(
        pilot,
        lambda: (
            task_id in (screen.tasks.order if screen.showing_table else screen.graph.graph.place)
        ),
    )
    screen.select(task_id)
    await pilot.pause()
    assert app.selected_task == task_id


# ---- recorded runs ---------------------------------------------------------------------------

TASKS = (
    Task(id="T1", title="User model", files=("src/models/user.py",), description="The model."),
    Task(id="T2", title="REST endpoints", depends=("T1",), files=("src/api/users.py",)),
    Task(id="T3", title="Login page", depends=("T1",), files=("src/web/login.py",)),
    Task(id="T4", title="Password hashing", depends=("T1",), files=("src/auth/hash.py",)),
    Task(id="T5", title="Settings screen", depends=("T1",), files=("src/settings.py",)),
    Task(id="T6", title="Docs", depends=("T2", "T3", "T4"), files=("docs/users.md",)),
    Task(id="T7", title="Release notes", depends=("T6",), files=("CHANGES.md",)),
)
WAVES = [["T1"], ["T2", "T3", "T4", "T5"], ["T6"], ["T7"]]
CRITICAL = ["T1", "T2", "T6", "T7"]

PARALLEL_DETAILS = """\
**7 tasks** in **4 waves**; up to 4 agents at once.

- wave 1: T1
- wave 2: T2, T3, T4, T5
- wave 3: T6
- wave 4: T7

Critical path: T1 → T2 → T6 → T7"""


def passed(stage: StageName, at: float, summary: str, by: str = "auto") -> list[ev.EventBase]:
    return [
        ev.StageStarted(stage=stage, at=at),
        ev.StageFinished(stage=stage, status="done", summary=summary, at=at + 4),
        ev.GateDecided(stage=stage, decision="approve", by=by, at=at + 5),  # type: ignore[arg-type]
    ]


def at_parallel_gate() -> list[ev.EventBase]:
    """Analyze and plan passed; parallel waits for approval."""
    return [
        ev.RunStarted(run_id=RUN_ID, workspace=WORKSPACE, goal="Add user accounts", at=T0),
        *passed(StageName.ANALYZE, T0 + 1, "42 files, Python 3.12, pytest"),
        *passed(StageName.PLAN, T0 + 7, "adopted PLAN.md: 7 tasks", by="app"),
        ev.StageStarted(stage=StageName.PARALLEL, at=T0 + 14),
        ev.PlanFrozen(tasks=TASKS, waves=WAVES, critical_path=CRITICAL, overlaps=[], at=T0 + 15),
        ev.StageFinished(
            stage=StageName.PARALLEL,
            status="done",
            summary="7 tasks, 4 waves, critical path 4",
            details=PARALLEL_DETAILS,
            evidence={"tasks": 7, "waves": WAVES, "critical_path": CRITICAL, "overlaps": []},
            at=T0 + 15,
        ),
        ev.GateOpened(stage=StageName.PARALLEL, summary="7 tasks, 4 waves", at=T0 + 15),
    ]


def output(task: str, lines: Iterable[str], at: float) -> ev.TaskOutput:
    return ev.TaskOutput(task=task, lines=tuple(lines), at=at)


def mid_implement() -> list[ev.EventBase]:
    """Implement runs: T1 done, T2 and T3 running with output, T4 failed, the rest wait."""
    return [
        *at_parallel_gate(),
        ev.GateDecided(stage=StageName.PARALLEL, decision="approve", by="app", at=T0 + 20),
        ev.StageStarted(stage=StageName.IMPLEMENT, at=T0 + 21),
        ev.TaskStarted(task="T1", agent="claude", at=T0 + 21),
        output("T1", ["▸ Read src/models/__init__.py", "▸ Write src/models/user.py"], T0 + 30),
        ev.TaskUsage(
            task="T1", input_tokens=12_400, output_tokens=2_100, cost_usd=0.0831, at=T0 + 40
        ),
        ev.TaskMerged(task="T1", commit="4f2a9c1", at=T0 + 41),
        ev.TaskFinished(
            task="T1", status="done", reason="ok", exit_code=0, duration=20, at=T0 + 41
        ),
        ev.TaskStarted(task="T2", agent="claude", at=T0 + 42),
        ev.TaskStarted(task="T3", agent="codex", at=T0 + 42),
        ev.TaskStarted(task="T4", agent="claude", at=T0 + 43),
        output("T4", ["▸ Edit src/auth/hash.py", "Error: bcrypt is not installed"], T0 + 50),
        ev.TaskUsage(task="T4", input_tokens=5_000, output_tokens=800, cost_usd=0.031, at=T0 + 55),
        ev.TaskFinished(
            task="T4", status="failed", reason="exit 1", exit_code=1, duration=13, at=T0 + 56
        ),
        ev.TaskBlocked(task="T6", cause="T4 failed", at=T0 + 56),
        ev.TaskUsage(
            task="T2", input_tokens=8_000, output_tokens=1_500, cost_usd=0.052, at=T0 + 70
        ),
        output("T3", ["$ pytest tests/test_login.py", "2 passed"], T0 + 80),
        output(
            "T2",
            [
                "▸ Read src/models/user.py",
                "Planning the endpoints: list, create, show, update",
                "▸ Write src/api/users.py",
                "▸ Bash: pytest tests/api -q",
                "FAILED tests/api/test_users.py::test_create - KeyError: 'email'",
                "▸ Edit src/api/users.py",
                "\x1b[32m4 passed\x1b[0m in 0.31s",
            ],
            T0 + 90,
        ),
    ]


def invalid_plan_reload() -> list[ev.EventBase]:
    return [
        *mid_implement(),
        ev.PlanReloaded(
            error="PLAN.md:23: T5 depends on 'T9', which is not a task (did you mean 'T6'?)",
            at=T0 + 92,
        ),
    ]


def stamped(events: Iterable[ev.EventBase]) -> list[ev.EventBase]:
    """Sequence numbers as the engine gives them (output events repeat the last one)."""
    out: list[ev.EventBase] = []
    seq = 0
    for event in events:
        if event.persisted:
            seq += 1
        out.append(event.model_copy(update={"seq": seq}))
    return out


AREAS = ("models", "api", "web", "auth", "docs")


def forty_task_plan() -> tuple[Task, ...]:
    """Eight waves of five: each task after its own area's task and a neighbour's in the
    wave before; two tasks of wave 3 may touch the same file (an overlap group)."""
    tasks = []
    for n in range(40):
        wave, area = divmod(n, 5)
        depends = ()
        if wave:
            depends = (
                f"T{(wave - 1) * 5 + area + 1:02d}",
                f"T{(wave - 1) * 5 + (area + 2) % 5 + 1:02d}",
            )
        shared = wave == 2 and area in (3, 4)
        files = ("src/auth/session.py",) if shared else (f"src/{AREAS[area]}/part{wave}.py",)
        tasks.append(
            Task(
                id=f"T{n + 1:02d}",
                title=f"{AREAS[area].title()} step {wave + 1}",
                depends=depends,
                files=files,
            )
        )
    return tuple(tasks)


def forty_tasks_running() -> list[ev.EventBase]:
    """The 40-task plan mid-implement: waves 1–2 done, wave 3 running with one failure."""
    from orchestrator_tui.core.graph import critical_path, waves
    from orchestrator_tui.core.overlap import overlap_groups

    tasks = forty_task_plan()
    events: list[ev.EventBase] = [
        ev.RunStarted(run_id=RUN_ID, workspace=WORKSPACE, at=T0),
        *passed(StageName.ANALYZE, T0, "42 files"),
        *passed(StageName.PLAN, T0, "40 tasks"),
        *passed(StageName.PARALLEL, T0, "40 tasks, 8 waves"),
        ev.StageStarted(stage=StageName.IMPLEMENT, at=T0 + 1),
        ev.PlanFrozen(
            tasks=tasks,
            waves=waves(tasks),
            critical_path=critical_path(tasks),
            overlaps=overlap_groups(tasks),
            at=T0 + 1,
        ),
    ]
    for n in range(10):
        task = f"T{n + 1:02d}"
        events.append(ev.TaskStarted(task=task, agent="claude", at=T0 + 2 + n))
        events.append(ev.TaskFinished(task=task, status="done", reason="ok", at=T0 + 20 + n))
    for n in range(10, 15):
        events.append(ev.TaskStarted(task=f"T{n + 1:02d}", agent="codex", at=T0 + 40 + n))
    events.append(ev.TaskFinished(task="T13", status="failed", reason="exit 1", at=T0 + 80))
    return events
