"""The app: wiring between the engine's events, the run screen and the keys.

`create_app` is the one factory the CLI (`run_app`), the tests and the screenshot script
share. The engine runs in one thread (EngineThread); everything it says arrives as an
`EngineSink.Event` message, and the handlers here fold it into a RunState with
core.state.apply — the same fold as the log and the monitor — then redraw. Every
command goes to the engine's inbox through `engine.submit`; the engine answers with
CommandApplied, shown as a notification (a refused command as a warning).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from ..core import events as ev
from ..core.events import EventSink
from ..core.models import StageName, Task, TaskStatus
from ..core.pipeline import EngineOptions
from ..core.plan import PlanError, parse_plan
from ..core.session import LockHeld
from ..core.state import RunState, TaskState, apply, task_state
from .commands import RunCommands
from .engine_thread import EngineThread
from .evidence import gate_markdown
from .handle import EngineFactory, EngineHandle
from .screens.approval import ApprovalScreen
from .screens.feedback import FeedbackScreen
from .screens.help import HelpScreen
from .screens.quit_confirm import QuitScreen
from .screens.run_screen import RunScreen
from .screens.task_detail import TaskDetailScreen, TaskFiles
from .sink import EngineSink
from .view import DagLayout, running_tasks
from .widgets.pipeline_board import PipelineBoard
from .widgets.task_table import TaskTable

UI_DIR = Path(__file__).parent
# Widgets cannot carry a CSS_PATH, and the default screen's own is not loaded by Textual:
# the app loads both.
STYLES = [
    *sorted(str(p) for p in (UI_DIR / "widgets").glob("*.tcss")),
    str(UI_DIR / "screens" / "run_screen.tcss"),
]
RETRYABLE = (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CONFLICT)
Clock = Callable[[], float]


class OrchestratorApp(App[None]):
    CSS_PATH = STYLES
    TITLE = "orchestrator-tui"
    COMMANDS = App.COMMANDS | {RunCommands}
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True),
        Binding("ctrl+c", "request_quit", "Quit", show=False),
    ]

    def __init__(
        self,
        options: EngineOptions,
        clock: Clock = time.time,
        start_engine: bool = True,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.options = options
        self.clock = clock
        self.start_engine = start_engine
        self.cursor_blink = cursor_blink
        self.sink = EngineSink(self)
        self.engine: EngineHandle | None = None
        self.engine_thread: EngineThread | None = None
        self.run_screen = RunScreen(self.log_file)
        self.state = RunState()
        self.layout = DagLayout()
        self.definitions: dict[str, Task] = {}
        self.preview_tasks: dict[str, TaskState] = {}
        self.preview_error = ""
        self.engine_failure = ""
        self.gate_screen: ApprovalScreen | None = None
        self.quitting = False

    # ---- start ------------------------------------------------------------------------

    def get_default_screen(self) -> RunScreen:
        return self.run_screen

    @property
    def handle(self) -> EngineHandle:
        if self.engine is None:
            raise RuntimeError("create_app() attaches the engine; the app has none")
        return self.engine

    def on_ready(self) -> None:
        """The run screen is up: seed it from the engine's state, then start the engine."""
        engine = self.handle
        with engine.emit_lock:  # nothing slips between reading the state and listening
            self.state = engine.state
            self.sink.connect()
        if engine.plan is not None:
            self.definitions = {t.id: t for t in engine.plan.tasks}
        if self.definitions:
            self.layout = DagLayout.from_tasks(list(self.definitions.values()), self.state.tasks)
        else:
            self.layout = DagLayout.from_waves(
                self.state.tasks, self.state.waves, self.state.critical_path
            )
        if not self.state.tasks:
            self.load_preview()
        self.redraw()
        self.set_interval(1.0, self.redraw)
        if self.start_engine:
            self.engine_thread = EngineThread(self, engine)
            self.engine_thread.start()

    def load_preview(self) -> None:
        """Before the parallel stage freezes the plan, show PLAN.md as it stands."""
        try:
            plan = parse_plan(self.options.plan_path)
        except PlanError as exc:
            self.preview_error = str(exc.problems[0]) if exc.problems else str(exc)
            return
        except OSError as exc:
            self.preview_error = f"cannot read the plan: {exc}"
            return
        self.definitions = {t.id: t for t in plan.tasks}
        self.preview_tasks = {t.id: task_state(t) for t in plan.tasks}
        self.layout = DagLayout.from_tasks(plan.tasks)

    # ---- events -----------------------------------------------------------------------

    def on_engine_sink_event(self, message: EngineSink.Event) -> None:
        event = message.event
        if event.persisted and event.seq and event.seq <= self.state.last_seq:
            return  # already in the state the app started from
        self.state = apply(self.state, event)
        self.react(event)
        if not isinstance(event, ev.TaskOutput):
            self.redraw()

    def react(self, event: ev.EventBase) -> None:
        logs = self.run_screen.logs
        match event:
            case ev.TaskOutput():
                logs.append(event.task, event.lines)
            case ev.TaskStarted():
                logs.task_started(event.task)
            case ev.TaskFinished() | ev.TaskBlocked() | ev.TaskReset() | ev.MergeConflict():
                task = self.state.tasks.get(event.task)
                if task is not None:
                    logs.task_status(event.task, task.status)
                if isinstance(event, ev.TaskFinished) and task and task.status == "failed":
                    self.notify(f"{event.task} failed: {event.reason}", severity="error")
            case ev.PlanFrozen():
                self.definitions = {t.id: t for t in event.tasks}
                self.layout = DagLayout.from_waves(
                    self.state.tasks, event.waves, event.critical_path
                )
                self.preview_tasks, self.preview_error = {}, ""
            case ev.PlanReloaded():
                self.plan_reloaded(event)
            case ev.SystemReloaded():
                sections = ", ".join(event.sections) or "no stage section"
                self.notify(f"CLAUDE.md reloaded; changed: {sections}", title="System")
            case ev.GateOpened():
                if self.options.config.notify.bell:
                    self.bell()
                self.open_gate()
            case ev.GateDecided():
                if self.gate_screen is not None and self.gate_screen.stage == event.stage:
                    self.gate_screen.dismiss(None)
                if event.by not in ("app", "auto"):
                    self.notify(f"{event.stage.title}: {event.decision} (by {event.by})")
            case ev.CommandApplied():
                text = event.message or event.action
                if event.ok:
                    self.notify(text, timeout=4)
                else:
                    self.notify(text, title="Refused", severity="warning", timeout=8)
            case ev.Notice():
                severity = {"info": "information", "warning": "warning", "error": "error"}
                self.notify(event.text, severity=severity[event.level])  # type: ignore[arg-type]
            case ev.BudgetReached():
                self.notify(
                    f"budget reached ({event.scope}): {event.spent} of {event.limit}",
                    severity="warning",
                    timeout=15,
                )
            case ev.RunFinished():
                severity = "information" if event.outcome == "complete" else "error"
                self.notify(f"run {event.outcome}: {event.reason}", severity=severity, timeout=30)

    def plan_reloaded(self, event: ev.PlanReloaded) -> None:
        if event.error:
            self.notify(
                f"PLAN.md is invalid; the last good plan stays.\n{event.error}",
                title="Plan",
                severity="error",
                timeout=10,
            )
            return
        self.preview_tasks, self.preview_error = {}, ""
        if event.tasks:
            self.definitions = {t.id: t for t in event.tasks}
            self.layout = DagLayout.from_tasks(event.tasks, self.state.tasks)
        changes = [
            f"{label} {', '.join(ids)}"
            for label, ids in (
                ("added", event.added),
                ("removed", event.removed),
                ("changed", event.changed),
            )
            if ids
        ]
        self.notify("PLAN.md reloaded: " + ("; ".join(changes) or "no task changed"), title="Plan")

    def on_engine_thread_finished(self, message: EngineThread.Finished) -> None:
        if message.error is not None:
            self.engine_failure = (
                f"the engine stopped: {type(message.error).__name__}: {message.error} — "
                "the run is saved; `orchestrator-tui run` resumes it"
            )
            self.notify(self.engine_failure, title="Engine", severity="error", timeout=60)
        elif not message.outcome and not self.quitting:
            self.engine_failure = "the engine stopped; `orchestrator-tui run` resumes the run"
        self.redraw()
        if self.quitting:
            self.exit()

    def redraw(self) -> None:
        tasks = self.state.tasks or self.preview_tasks
        note = "engine stopped" if self.engine_failure else ""
        self.run_screen.draw(
            self.state,
            tasks,
            self.layout,
            self.clock(),
            self.alerts(),
            note,
            preview=bool(self.preview_tasks) and not self.state.tasks,
        )

    def alerts(self) -> tuple[str, ...]:
        alerts = []
        if self.state.plan_error:
            alerts.append(f"PLAN.md is invalid, the last good plan stays: {self.state.plan_error}")
        elif self.preview_error and not self.state.tasks:
            alerts.append(f"PLAN.md is invalid: {self.preview_error}")
        if self.engine_failure:
            alerts.append(self.engine_failure)
        return tuple(alerts)

    # ---- the panes ----------------------------------------------------------------------

    def on_task_table_task_highlighted(self, message: TaskTable.TaskHighlighted) -> None:
        task = self.state.tasks.get(message.task_id)
        logs = self.run_screen.logs
        if message.task_id in logs.panes or (task and task.started_at):
            logs.show(message.task_id)

    def on_task_table_task_chosen(self, message: TaskTable.TaskChosen) -> None:
        self.open_detail(message.task_id, "overview")

    def on_pipeline_board_stage_selected(self, message: PipelineBoard.StageSelected) -> None:
        gate = self.state.gate
        if gate is not None and gate.stage == message.stage:
            self.open_gate()
            return
        stage = self.state.stages[message.stage]
        self.notify(f"{message.stage.title}: {stage.status.value}. {stage.summary}".strip())

    def log_file(self, task_id: str) -> Path | None:
        files = self.engine.files if self.engine is not None else None
        return files.log(task_id) if files is not None else None

    @property
    def selected_task(self) -> str | None:
        return self.run_screen.tasks.selected_task

    # ---- actions ------------------------------------------------------------------------

    def submit(self, action: str, task: str = "", feedback: str = "") -> None:
        if self.engine_thread is not None and not self.engine_thread.alive:
            self.notify("The engine has stopped: nothing takes commands now.", severity="error")
            return
        try:
            self.handle.submit(action, task, feedback, by="app")
        except OSError as exc:
            self.notify(f"could not send {action}: {exc}", severity="error")

    def open_gate(self) -> None:
        gate = self.state.gate
        if gate is None or self.gate_screen is not None:
            return
        screen = ApprovalScreen(gate.stage, gate_markdown(self.state, gate.stage), gate.failed)
        self.gate_screen = screen
        self.push_screen(screen, self.gate_decided)

    def gate_decided(self, decision: str | None) -> None:
        self.gate_screen = None
        if decision == "reject":
            self.ask_feedback()
        elif decision:
            self.submit(decision)

    def ask_feedback(self) -> None:
        gate = self.state.gate
        if gate is None:
            self.notify("Nothing waits for approval.", severity="warning")
            return
        stage: StageName = gate.stage

        def send(text: str | None) -> None:
            if text:
                self.submit("reject", feedback=text)

        self.push_screen(
            FeedbackScreen(f"stage {stage.number} · {stage.title}", self.cursor_blink), send
        )

    def action_approve(self) -> None:
        if self.state.gate is None:
            self.notify("Nothing waits for approval.", severity="warning")
            return
        self.open_gate()

    def action_reject(self) -> None:
        self.ask_feedback()

    def action_pause(self) -> None:
        self.submit("resume" if self.state.paused else "pause")

    def action_retry(self) -> None:
        task_id = self.selected_task
        task = self.state.tasks.get(task_id or "")
        gate = self.state.gate
        if task is not None and task.status in RETRYABLE:
            self.submit("retry", task=task.id)
        elif gate is not None and gate.failed:
            self.submit("retry")
        elif task_id:
            self.submit("retry", task=task_id)  # the engine says why it cannot
        else:
            self.notify("Select a failed task first.", severity="warning")

    def action_skip(self) -> None:
        task_id = self.selected_task
        if not task_id:
            self.notify("Select a task first.", severity="warning")
            return
        self.submit("skip", task=task_id)

    def action_detail(self) -> None:
        self.open_detail(self.selected_task, "overview")

    def action_diff(self) -> None:
        self.open_detail(self.selected_task, "diff")

    def open_detail(self, task_id: str | None, tab: str) -> None:
        task = self.state.tasks.get(task_id or "") or self.preview_tasks.get(task_id or "")
        if task is None:
            self.notify("Select a task first.", severity="warning")
            return
        files = self.engine.files if self.engine is not None else None
        paths = TaskFiles(
            workspace=self.options.workspace,
            run_id=self.state.run_id,
            prompt=files.prompt(task.id) if files else None,
            log=files.log(task.id) if files else None,
        )
        definition = self.definitions.get(task.id)
        self.push_screen(TaskDetailScreen(task, definition, paths, self.clock(), initial=tab))

    def action_cycle_log(self, step: int) -> None:
        self.run_screen.logs.cycle(step)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_request_quit(self) -> None:
        if self.quitting:
            self.exit()  # a second quit while agents stop: leave now, run_app waits for them
            return
        running = running_tasks(self.state)
        if running and self.engine_alive:
            self.push_screen(
                QuitScreen(len(running)), lambda stop: self.stop_and_quit() if stop else None
            )
        else:
            self.stop_and_quit()

    def stop_and_quit(self) -> None:
        self.quitting = True
        if self.engine_alive:
            self.handle.stop()
            self.notify("Stopping; the run stays resumable…", timeout=30)
        else:
            self.exit()

    @property
    def engine_alive(self) -> bool:
        return self.engine_thread is not None and self.engine_thread.alive

    # ---- after the app -----------------------------------------------------------------

    def shutdown_engine(self) -> None:
        """Stop the engine (resumably) and wait for it; release the run if it never ran."""
        thread = self.engine_thread
        engine = self.handle
        if thread is None or not thread.started:
            engine.close()
            return
        if thread.alive:
            engine.stop()
            print("waiting for the engine to stop its agents…", file=sys.stderr)
        thread.join()

    def exit_code(self) -> int:
        """0 run complete, 1 failed/cancelled/crashed, 130 stopped and resumable."""
        if self.return_code:
            return self.return_code
        thread = self.engine_thread
        if thread is not None and thread.error is not None:
            print(thread.trace, file=sys.stderr, end="")
            return 1
        outcome = thread.outcome if thread is not None else ""
        if outcome == "complete":
            return 0
        if outcome:
            print(f"run {outcome}: {self.state.outcome_reason}", file=sys.stderr)
            return 1
        print("stopped; `orchestrator-tui run` resumes the run", file=sys.stderr)
        return 130


def default_engine(options: EngineOptions, sinks: Sequence[EventSink]) -> EngineHandle:
    from ..runtime import build_engine

    return build_engine(options, sinks)


def create_app(
    options: EngineOptions,
    engine_factory: EngineFactory | None = None,
    *,
    clock: Clock = time.time,
    start_engine: bool = True,
    animations: bool = True,
) -> OrchestratorApp:
    """The app with its engine attached (not yet opened). Tests pass a fake engine factory,
    a frozen clock, start_engine=False to feed recorded events, animations=False."""
    app = OrchestratorApp(options, clock=clock, start_engine=start_engine, cursor_blink=animations)
    app.engine = (engine_factory or default_engine)(options, [app.sink])
    if not animations:
        app.animation_level = "none"
    return app


def run_app(options: EngineOptions) -> int:
    """`orchestrator-tui run`: open the run (the lock first), then the app."""
    app = create_app(options)
    try:
        app.handle.open()
    except LockHeld as exc:
        print(exc, file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"cannot open the run: {exc}", file=sys.stderr)
        return 1
    try:
        app.run()
    finally:
        app.shutdown_engine()
    return app.exit_code()


def feed(app: OrchestratorApp, events: Sequence[ev.EventBase]) -> None:
    """Deliver recorded events as the sink would (tests and screenshots, on the UI thread)."""
    for event in events:
        app.post_message(EngineSink.Event(event))
