"""A past run, read-only: its board, tasks and logs, and a timeline to scrub through.

The same widgets as the run screen (header, board, the DAG pane — the graph or, `g`, the
wave table — and the log panes), bound to this screen's own reactive state, clock and
plan — the state being the run's log folded up to the timeline's position
(ui/past_runs.py, core/timeline.py). Nothing here can change the run: there is no engine,
and no key sends a command. Where the timeline stands, the clock is the time of that
event, so a task running then shows how long it had run. ←/→ are the timeline's here;
the graph follows its edges with h/l.

Messages from the graph, the task table and the board stop here: the app's own handlers
are for the live run.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from ...core.state import RunState
from ...core.timeline import what_happened
from ..evidence import gate_markdown
from ..past_runs import PastRun
from ..plan_view import PlanView
from ..run_rows import started_text
from ..view import fmt_cost, fmt_duration
from ..widgets.agent_logs import AgentLogPanes
from ..widgets.dag_graph import DagGraph
from ..widgets.pipeline_board import PipelineBoard
from ..widgets.run_header import RunHeader
from ..widgets.task_table import TaskTable
from ..widgets.timeline_bar import Moment, TimelineBar
from .dag_pane import DagPane
from .document import DocumentScreen
from .event_list import EventListScreen
from .task_detail import TaskDetailScreen, TaskFiles

FOLLOW_DELAY = 0.12  # as the run screen: the log follows the cursor once it rests


class PastRunScreen(DagPane, Screen[None]):
    CSS_PATH = "past_run.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (18, "-tall")]

    BINDINGS = [
        # Priority: the task table, a scroll view, would take the arrows for scrolling.
        Binding("left", "step(-1)", "Earlier", key_display="←", priority=True),
        Binding("right", "step(1)", "Later", key_display="→", priority=True),
        Binding("shift+left,less_than_sign", "milestone(-1)", "Prev stage", key_display="<"),
        Binding("shift+right,greater_than_sign", "milestone(1)", "Next stage", key_display=">"),
        # Upper case: the graph takes b…l (h/l follow its edges, e draws only the selected
        # task's). In ? — the footer is full at 80 columns.
        Binding("B", "edge(0)", "Start", show=False),
        Binding("E", "edge(1)", "End", show=False),
        Binding("s", "summary", "Summary"),
        Binding("L", "events", "Events"),
        Binding("g", "toggle_dag", "Graph/table", show=False),
        Binding("enter", "detail", "Detail", show=False),
        Binding("d", "detail('diff')", "Diff", show=False),
        Binding("left_square_bracket", "cycle_log(-1)", "Prev log", show=False),
        Binding("right_square_bracket", "cycle_log(1)", "Next log", show=False),
        Binding("escape,q", "close", "Back"),
    ]

    # repaint=False: the bound widgets redraw themselves; the screen need not repaint all
    # of itself (every row of the task table with it) at each step of the timeline.
    state: reactive[RunState] = reactive(RunState, always_update=True, repaint=False)
    now: reactive[float] = reactive(0.0, repaint=False)
    plan: reactive[PlanView] = reactive(PlanView, always_update=True, repaint=False)
    moment: reactive[Moment] = reactive(Moment, repaint=False)

    def __init__(self, past: PastRun, position: int | None = None) -> None:
        super().__init__()
        self.past = past
        self.timeline = past.timeline
        self.position = self.timeline.end if position is None else self.timeline.clamp(position)
        self.title_line = Static(self.title_text(), id="past-title", markup=False)
        self.header = RunHeader(id="header")
        self.board = PipelineBoard(id="board")
        # The DAG pane: the graph, or (g) the wave table. ←/→ are the timeline's here.
        self.graph = DagGraph(id="graph", keys_hint="h l edges · e lines · g table")
        self.tasks = TaskTable(id="tasks")
        self.logs = AgentLogPanes(past.log_file, id="logs")
        self.bar = TimelineBar(id="timeline")
        self.footer = Footer()
        self.follow_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        state, now, plan = PastRunScreen.state, PastRunScreen.now, PastRunScreen.plan
        yield self.title_line
        yield self.header.data_bind(state, now)
        yield self.board.data_bind(state, now)
        with Container(id="main"):
            yield self.graph.data_bind(state, now, plan)
            yield self.tasks.data_bind(state, now, plan)
            yield self.logs
        yield self.bar.data_bind(PastRunScreen.moment)
        yield self.footer

    def on_resize(self) -> None:
        # As on the run screen: below the wide breakpoint every key must fit whole.
        self.footer.compact = self.size.width < 110

    def on_mount(self) -> None:
        self.logs.border_title = "Agent output · as the run left it"
        self.tasks.show(False)
        self.tasks.border_subtitle = "g graph"
        self.go(self.position)
        self.graph.focus()
        first_log = next((t for t in self.task_order() if self.past.log_file(t)), None)
        if first_log is not None:  # the pane shows a log from the start, not "nothing"
            self.logs.show(first_log, self.state.tasks[first_log].status)

    def title_text(self) -> str:
        summary = self.past.summary
        parts = [f"Past run {summary.run_id}", "read-only", summary.outcome]
        if summary.started_at:
            parts.append(f"started {started_text(summary)}, took {fmt_duration(summary.duration)}")
        if summary.cost_usd:
            parts.append(fmt_cost(summary.cost_usd))
        if self.past.live:
            parts.append("running now: the log as it was when opened")
        if self.past.warnings:
            parts.append(f"! {self.past.warnings[0]}")
        return " · ".join(parts)

    # ---- the timeline ------------------------------------------------------------------

    def go(self, position: int) -> None:
        """Show the run as it was after `position` events."""
        timeline = self.timeline
        self.position = timeline.clamp(position)
        state = self.past.state_at(self.position)
        event = timeline.event_at(self.position)
        at = timeline.time_at(self.position)
        started = state.started_at or (timeline.time_at(1) if timeline.end else 0.0)
        plan = self.past.plan_at(self.position, state)
        if plan is not self.plan:  # the same plan view for every moment after the freeze
            self.plan = plan
        # The clock without its watchers: the widgets read it when the state arrives, so a
        # step redraws the 500-row task table once, not once for the clock and once more.
        for widget, clock in (
            (self, PastRunScreen.now),
            (self.header, RunHeader.now),
            (self.board, PipelineBoard.now),
            (self.tasks, TaskTable.now),
            (self.graph, DagGraph.now),
        ):
            widget.set_reactive(clock, at)
        self.state = state
        self.moment = Moment(
            position=self.position,
            end=timeline.end,
            milestones=timeline.milestones,
            at=at,
            since_start=max(0.0, at - started) if started else 0.0,
            what=what_happened(event) if event is not None else "before the first event",
        )

    def action_step(self, step: int) -> None:
        self.go(self.position + step)

    def action_milestone(self, step: int) -> None:
        self.go(self.timeline.next_milestone(self.position, step))

    def action_edge(self, end: int) -> None:
        self.go(self.timeline.end if end else 0)

    def on_timeline_bar_moved(self, message: TimelineBar.Moved) -> None:
        message.stop()
        self.go(message.position)

    # ---- the DAG pane: the graph or the wave table, as on the run screen ---------------

    @property
    def selected_task(self) -> str | None:
        return self.dag_view.selected_task

    def task_order(self) -> list[str]:
        """The tasks in DAG order (the plan's layout, then any it does not place)."""
        tasks = self.state.tasks
        return list(dict.fromkeys(t for t in [*self.plan.layout.order, *tasks] if t in tasks))

    def action_toggle_dag(self) -> None:
        """`g`: the graph ⇄ the wave table, on the same selected task."""
        self.swap_dag_view(focus=True)

    # ---- looking closer ----------------------------------------------------------------

    def action_events(self) -> None:
        """The whole log, one line an event: enter jumps to the one under the cursor."""

        def chosen(position: int | None) -> None:
            if position is not None:
                self.go(position)

        self.app.push_screen(EventListScreen(self.timeline, self.position), chosen)

    def action_summary(self) -> None:
        title = f"summary.md of {self.past.run_id}"
        self.app.push_screen(DocumentScreen(title, self.past.summary_markdown()))

    def action_detail(self, tab: str = "overview") -> None:
        task_id = self.selected_task
        task = self.state.tasks.get(task_id or "")
        if task is None:
            self.notify("Select a task first.", severity="warning")
            return
        files = self.past.files
        paths = TaskFiles(
            workspace=files.workspace,
            run_id=self.past.run_id,
            prompt=files.prompt(task.id),
            log=files.log(task.id),
        )
        definition = self.plan.definitions.get(task.id)
        self.app.push_screen(TaskDetailScreen(task, definition, paths, self.now, initial=tab))

    def action_cycle_log(self, step: int) -> None:
        ran = [t for t in self.task_order() if self.past.log_file(t) is not None]
        self.logs.cycle(step, ran)

    def action_close(self) -> None:
        self.dismiss(None)

    def on_task_table_task_highlighted(
        self, message: TaskTable.TaskHighlighted | DagGraph.TaskHighlighted
    ) -> None:
        message.stop()
        if self.follow_timer is not None:
            self.follow_timer.stop()
        self.follow_timer = self.set_timer(FOLLOW_DELAY, lambda: self.follow(message.task_id))

    def follow(self, task_id: str) -> None:
        self.follow_timer = None
        task = self.state.tasks.get(task_id)
        if self.selected_task == task_id and self.past.log_file(task_id) is not None:
            self.logs.show(task_id, task.status if task else None)

    def on_dag_graph_task_highlighted(self, message: DagGraph.TaskHighlighted) -> None:
        self.on_task_table_task_highlighted(message)

    def on_task_table_task_chosen(self, message: TaskTable.TaskChosen) -> None:
        message.stop()
        self.action_detail()

    def on_dag_graph_task_chosen(self, message: DagGraph.TaskChosen) -> None:
        message.stop()
        self.action_detail()

    def on_pipeline_board_stage_selected(self, message: PipelineBoard.StageSelected) -> None:
        message.stop()
        stage = self.state.stages[message.stage]
        title = f"Stage {message.stage.number} · {message.stage.title}: {stage.status.value}"
        body = gate_markdown(self.state, message.stage) if stage.started_at else "Not run yet."
        self.app.push_screen(DocumentScreen(title, body))
