"""OrchestratorApp: the engine's events folded into a RunState, which the run screen holds.

The engine runs in one thread (EngineThread); everything it says arrives as an
`EngineSink.Event` message, and the handler here folds it into the run screen's state with
core.state.apply — the same fold as the log and the monitor. The screen's widgets are
bound to that state, the clock and the plan view (screens/run_screen.py), as the
monitor's are: the app never draws. What an event causes besides (log lines,
notifications, the approval modal) is in reactions.py; the keys' actions in actions.py.
Every command goes to the engine through `engine.submit`; the engine answers with
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

from ..core.models import Task
from ..core.state import RunState, apply
from ..engine.output import OutputBuffers
from ..engine.pipeline import EngineOptions
from .actions import RunActions
from .asking_actions import AskingActions
from .commands import RunCommands
from .engine_thread import EngineThread
from .evidence import gate_markdown
from .handle import EngineHandle
from .plan_view import PlanView
from .reactions import RunReactions
from .screens.approval import ApprovalScreen
from .screens.document import DocumentScreen
from .screens.run_screen import RunScreen
from .sink import EngineSink
from .widgets.agent_tiles import AgentTiles
from .widgets.dag_graph import DagGraph
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
TICK_SECONDS = 1.0  # how often the clock the widgets read moves on


class OrchestratorApp(AskingActions, RunActions, RunReactions, App[None]):
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
        self.gate_screen: ApprovalScreen | None = None
        self.follow_timer: Timer | None = None
        self.gate_unseen = False  # a gate opened that the approval modal has not shown
        self.quitting = False

    # ---- what the run screen holds --------------------------------------------------------

    @property
    def state(self) -> RunState:
        """The folded state: the run screen's (its widgets read it from there)."""
        return self.run_screen.state

    @state.setter
    def state(self, state: RunState) -> None:
        self.run_screen.now = self.clock()
        self.run_screen.state = state

    @property
    def plan(self) -> PlanView:
        return self.run_screen.plan

    @plan.setter
    def plan(self, plan: PlanView) -> None:
        self.run_screen.plan = plan

    @property
    def definitions(self) -> dict[str, Task]:
        return dict(self.plan.definitions)

    @property
    def engine_failure(self) -> str:
        return self.run_screen.engine_failure

    def tick(self) -> None:
        self.run_screen.now = self.clock()

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
        state = engine.state
        self.sink.connect()
        output = getattr(engine, "output", None)
        if output is not None:  # the agents' lines: drained by the log panes' own timer
            output.claim("app")
            self.run_screen.logs.source = lambda: self.take_output(output)
        plan_tasks = engine.plan.tasks if engine.plan is not None else ()
        plan = PlanView.at_start(plan_tasks, state)
        if not state.tasks and not plan.definitions:
            plan = PlanView.preview_of(
                self.options.plan_path, self.options.config.run.taskmaster_tag or None
            )
        self.plan = plan
        self.state = state
        self.gate_unseen = state.gate is not None  # a resumed run waiting at a gate
        self.call_after_refresh(self.show_waiting_gate)
        self.run_screen.set_interval(TICK_SECONDS, self.tick)  # stops with the screen
        if self.start_engine:
            self.engine_thread = EngineThread(self, engine)
            self.engine_thread.start()

    def on_unmount(self) -> None:
        """However the app ends (a quit, an error, a test), the engine is told to stop —
        resumably; `run_app` then waits for it."""
        if self.engine_thread is not None and self.engine_thread.alive:
            self.handle.stop()

    # ---- events -----------------------------------------------------------------------

    def take_output(self, output: OutputBuffers) -> None:
        """The agents' lines since the last pane tick (engine/output.py), read straight from
        the engine's buffers on this thread: no message per batch, no thread between. The
        state takes each task's last line quietly: no widget shows it."""
        state = self.state
        for event in output.drain():
            state = apply(state, event)
            self.react(event)
        self.run_screen.fold_quietly(state)

    def on_engine_sink_event(self, message: EngineSink.Event) -> None:
        event = message.event
        if event.persisted and event.seq and event.seq <= self.state.last_seq:
            return  # already in the state the app started from
        self.state = apply(self.state, event)
        self.react(event)

    def on_run_screen_resumed(self, message: RunScreen.Resumed) -> None:
        self.show_waiting_gate()

    def on_engine_thread_finished(self, message: EngineThread.Finished) -> None:
        if message.error is not None:
            failure = (
                f"the engine stopped: {type(message.error).__name__}: {message.error} — "
                "the run is saved; `orchestrator-tui run` resumes it"
            )
            self.run_screen.engine_failure = failure
            self.say(failure, title="Engine", severity="error", timeout=60)
        elif not message.outcome and not self.quitting:
            self.run_screen.engine_failure = (
                "the engine stopped; `orchestrator-tui run` resumes the run"
            )
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

    # ---- the panes ----------------------------------------------------------------------

    def on_task_table_task_highlighted(
        self, message: TaskTable.TaskHighlighted | DagGraph.TaskHighlighted
    ) -> None:
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

    def on_dag_graph_task_highlighted(self, message: DagGraph.TaskHighlighted) -> None:
        self.on_task_table_task_highlighted(message)

    def on_task_table_task_chosen(self, message: TaskTable.TaskChosen) -> None:
        self.open_detail(message.task_id, "overview")

    def on_dag_graph_task_chosen(self, message: DagGraph.TaskChosen) -> None:
        self.open_detail(message.task_id, "overview")

    def on_agent_tiles_task_chosen(self, message: AgentTiles.TaskChosen) -> None:
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
        return self.run_screen.selected_task

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
