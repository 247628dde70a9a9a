"""OrchestratorApp: the engine's events folded into a RunState and drawn on the run screen.

The engine runs in one thread (EngineThread); everything it says arrives as an
`EngineSink.Event` message, and the handlers here fold it into a RunState with
core.state.apply — the same fold as the log and the monitor — then redraw. Every
command goes to the engine's inbox through `engine.submit`; the engine answers with
CommandApplied, shown as a notification (a refused command as a warning).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.timer import Timer

from ..core import events as ev
from ..core.models import Task
from ..core.plan import PlanError, parse_plan
from ..core.state import RunState, TaskState, apply, task_state
from ..engine.output import OutputBuffers
from ..engine.pipeline import EngineOptions
from .actions import RunActions
from .commands import RunCommands
from .engine_thread import EngineThread
from .evidence import gate_markdown
from .handle import EngineHandle
from .screens.approval import ApprovalScreen
from .screens.document import DocumentScreen
from .screens.run_screen import RunScreen
from .sink import EngineSink
from .view import DagLayout, fmt_duration
from .widgets.pipeline_board import PipelineBoard
from .widgets.task_table import TaskTable

UI_DIR = Path(__file__).parent
# Widgets cannot carry a CSS_PATH, and the default screen's own is not loaded by Textual:
# the app loads both.
STYLES = [
    *sorted(str(p) for p in (UI_DIR / "widgets").glob("*.tcss")),
    str(UI_DIR / "screens" / "run_screen.tcss"),
]
Clock = Callable[[], float]
FOLLOW_DELAY = 0.12  # seconds the cursor rests on a task before its log is shown


def pane_note(event: ev.EventBase) -> str:
    """The line that closes an attempt in the task's log pane."""
    match event:
        case ev.TaskFinished(status="done"):
            return f"✓ done in {fmt_duration(event.duration)} (attempt {event.attempt})"
        case ev.TaskFinished(will_retry=True):
            return f"✗ attempt {event.attempt} failed: {event.reason}"
        case ev.TaskFinished():
            return f"✗ {event.status}: {event.reason}"
        case ev.TaskBlocked():
            return f"⊘ blocked: {event.cause}"
        case ev.MergeConflict():
            return "≠ merge conflict: " + ", ".join(event.files)
    return ""


class OrchestratorApp(RunActions, App[None]):
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
        self.dag_layout = DagLayout()
        self.definitions: dict[str, Task] = {}
        self.preview_tasks: dict[str, TaskState] = {}
        self.preview_error = ""
        self.engine_failure = ""
        self.gate_screen: ApprovalScreen | None = None
        self.follow_timer: Timer | None = None
        self.gate_unseen = False  # a gate opened that the approval modal has not shown
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
        # The engine thread starts below: nothing is emitted between this read and listening.
        self.state = engine.state
        self.sink.connect()
        output = getattr(engine, "output", None)
        if output is not None:  # the agents' lines: drained by the log panes' own timer
            output.claim("app")
            self.run_screen.logs.source = lambda: self.take_output(output)
        if engine.plan is not None:
            self.definitions = {t.id: t for t in engine.plan.tasks}
        if self.definitions:
            self.dag_layout = DagLayout.from_tasks(
                list(self.definitions.values()), self.state.tasks
            )
        else:
            self.dag_layout = DagLayout.from_waves(
                self.state.tasks, self.state.waves, self.state.critical_path
            )
        if not self.state.tasks:
            self.load_preview()
        self.gate_unseen = self.state.gate is not None  # a resumed run waiting at a gate
        self.redraw()
        self.call_after_refresh(self.show_waiting_gate)
        self.run_screen.set_interval(1.0, self.redraw)  # stops with the screen
        if self.start_engine:
            self.engine_thread = EngineThread(self, engine)
            self.engine_thread.start()

    def on_unmount(self) -> None:
        """However the app ends (a quit, an error, a test), the engine is told to stop —
        resumably; `run_app` then waits for it."""
        if self.engine_thread is not None and self.engine_thread.alive:
            self.handle.stop()

    def load_preview(self) -> None:
        """Before the parallel stage freezes the plan, show PLAN.md as it stands."""
        try:
            plan = parse_plan(
                self.options.plan_path, self.options.config.run.taskmaster_tag or None
            )
        except PlanError as exc:
            self.preview_error = str(exc.problems[0]) if exc.problems else str(exc)
            return
        except OSError as exc:
            self.preview_error = f"cannot read the plan: {exc}"
            return
        self.definitions = {t.id: t for t in plan.tasks}
        self.preview_tasks = {t.id: task_state(t) for t in plan.tasks}
        self.dag_layout = DagLayout.from_tasks(plan.tasks)

    # ---- events -----------------------------------------------------------------------

    def take_output(self, output: OutputBuffers) -> None:
        """The agents' lines since the last pane tick (engine/output.py), read straight from
        the engine's buffers on this thread: no message per batch, no thread between."""
        for event in output.drain():
            self.state = apply(self.state, event)
            self.react(event)

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
                    logs.task_status(event.task, task.status, pane_note(event))
                if isinstance(event, ev.TaskFinished) and task and task.status == "failed":
                    self.say(f"{event.task} failed: {event.reason}", severity="error")
            case ev.PlanFrozen():
                self.definitions = {t.id: t for t in event.tasks}
                self.dag_layout = DagLayout.from_waves(
                    self.state.tasks, event.waves, event.critical_path
                )
                self.preview_tasks, self.preview_error = {}, ""
            case ev.PlanReloaded():
                self.plan_reloaded(event)
            case ev.SystemReloaded():
                sections = ", ".join(event.sections) or "no stage section"
                self.say(f"CLAUDE.md reloaded; changed: {sections}", title="System")
            case ev.GateOpened():
                if self.options.config.notify.bell:
                    self.bell()
                # After the queue drains: a gate that a later event already closed (a
                # replay, an approval from the CLI) never flashes a modal.
                self.gate_unseen = True
                self.call_after_refresh(self.show_waiting_gate)
            case ev.GateDecided():
                if self.gate_screen is not None and self.gate_screen.stage == event.stage:
                    self.gate_screen.dismiss(None)
                if event.by not in ("app", "auto"):
                    self.say(f"{event.stage.title}: {event.decision} (by {event.by})")
            case ev.CommandApplied():
                text = event.message or event.action
                if event.ok:
                    self.say(text, timeout=4)
                else:
                    self.say(text, title="Refused", severity="warning", timeout=8)
            case ev.Notice():
                severity = {"info": "information", "warning": "warning", "error": "error"}
                self.say(event.text, severity=severity[event.level])  # type: ignore[arg-type]
            case ev.BudgetReached():
                self.say(
                    f"budget reached ({event.scope}): {event.spent} of {event.limit}",
                    severity="warning",
                    timeout=15,
                )
            case ev.RunFinished():
                severity = "information" if event.outcome == "complete" else "error"
                self.say(f"run {event.outcome}: {event.reason}", severity=severity, timeout=30)
                self.show_summary()

    def show_waiting_gate(self) -> None:
        """Open the approval modal for a gate not shown yet — over the run screen only: it
        must not cover a dialog the user is answering (quit, feedback) or reading."""
        if not self.gate_unseen or self.state.gate is None:
            return
        if self.screen is not self.run_screen:
            stage = self.state.gate.stage
            self.say(f"{stage.title} waits for approval: press a on the board.", timeout=6)
            return
        self.gate_unseen = False
        self.open_gate()

    def on_run_screen_resumed(self, message: RunScreen.Resumed) -> None:
        self.show_waiting_gate()

    def show_summary(self) -> None:
        """The complete stage's summary.md, when the run wrote one."""
        files = self.engine.files if self.engine is not None else None
        path = files.report("summary.md") if files is not None else None
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path else ""
        except OSError:
            return
        if text:
            self.push_screen(DocumentScreen(f"Run {self.state.run_id}: summary", text))

    def plan_reloaded(self, event: ev.PlanReloaded) -> None:
        if event.error:
            self.say(
                f"PLAN.md is invalid; the last good plan stays.\n{event.error}",
                title="Plan",
                severity="error",
                timeout=10,
            )
            return
        self.preview_tasks, self.preview_error = {}, ""
        if event.tasks:
            self.definitions = {t.id: t for t in event.tasks}
            self.dag_layout = DagLayout.from_tasks(event.tasks, self.state.tasks)
        changes = [
            f"{label} {', '.join(ids)}"
            for label, ids in (
                ("added", event.added),
                ("removed", event.removed),
                ("changed", event.changed),
            )
            if ids
        ]
        self.say("PLAN.md reloaded: " + ("; ".join(changes) or "no task changed"), title="Plan")

    def on_engine_thread_finished(self, message: EngineThread.Finished) -> None:
        if message.error is not None:
            self.engine_failure = (
                f"the engine stopped: {type(message.error).__name__}: {message.error} — "
                "the run is saved; `orchestrator-tui run` resumes it"
            )
            self.say(self.engine_failure, title="Engine", severity="error", timeout=60)
        elif not message.outcome and not self.quitting:
            self.engine_failure = "the engine stopped; `orchestrator-tui run` resumes the run"
        self.redraw()
        if self.quitting:
            self.exit()

    def say(
        self,
        text: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """A notification whose text is shown as is: engine and agent text may hold
        square brackets, which must not be read as markup."""
        self.notify(text, title=title, severity=severity, timeout=timeout, markup=False)

    def redraw(self) -> None:
        tasks = self.state.tasks or self.preview_tasks
        note = "engine stopped" if self.engine_failure else ""
        self.run_screen.draw(
            self.state,
            tasks,
            self.dag_layout,
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
        """The log pane follows the cursor once it settles: running down a long list must
        not redraw a 2,000-line pane at every row."""
        if self.follow_timer is not None:
            self.follow_timer.stop()
        self.follow_timer = self.set_timer(FOLLOW_DELAY, lambda: self.follow(message.task_id))

    def follow(self, task_id: str) -> None:
        self.follow_timer = None
        task = self.state.tasks.get(task_id)
        logs = self.run_screen.logs
        if self.selected_task == task_id and (task_id in logs.panes or (task and task.started_at)):
            logs.show(task_id, task.status if task else None)

    def on_task_table_task_chosen(self, message: TaskTable.TaskChosen) -> None:
        self.open_detail(message.task_id, "overview")

    def on_pipeline_board_stage_selected(self, message: PipelineBoard.StageSelected) -> None:
        gate = self.state.gate
        if gate is not None and gate.stage == message.stage:
            self.open_gate()
            return
        stage = self.state.stages[message.stage]
        title = f"Stage {message.stage.number} · {message.stage.title}: {stage.status.value}"
        body = gate_markdown(self.state, message.stage) if stage.started_at else "Not run yet."
        self.push_screen(DocumentScreen(title, body))

    def log_file(self, task_id: str) -> Path | None:
        files = self.engine.files if self.engine is not None else None
        return files.log(task_id) if files is not None else None

    @property
    def selected_task(self) -> str | None:
        return self.run_screen.tasks.selected_task

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
