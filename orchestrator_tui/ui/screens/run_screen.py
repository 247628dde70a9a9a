"""The main screen: header, pipeline board, alerts, task DAG pane, agent log panes, keys.

It holds what the run looks like as reactive data — the folded state, the clock, the plan
as the panes show it, why the engine stopped — and its widgets are bound to it
(`data_bind`): they read it when it changes, as the monitor's widgets do. The app only
folds events and sets these. Keys are bound here (so modals do not inherit them) to the
app's actions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer

from ...core.state import RunState
from ..plan_view import PlanView
from ..widgets.agent_logs import AgentLogPanes
from ..widgets.agent_tiles import AgentTiles
from ..widgets.alert_banner import AlertBanner
from ..widgets.asking_banner import AskingBanner
from ..widgets.dag_graph import DagGraph
from ..widgets.pipeline_board import PipelineBoard
from ..widgets.run_header import RunHeader
from ..widgets.task_table import TaskTable
from .dag_pane import DagPane


class RunScreen(DagPane, Screen[None]):
    CSS_PATH = "run_screen.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (18, "-tall")]

    BINDINGS = [
        Binding("a", "app.approve", "Approve"),
        Binding("r", "app.reject", "Reject"),
        Binding("p", "app.pause", "Pause"),
        Binding("R", "app.retry", "Retry"),
        Binding("s", "app.skip", "Skip"),
        Binding("t", "app.take_over", "Take over", show=False),  # in ? and ctrl+p
        Binding("d", "app.diff", "Diff"),
        Binding("g", "toggle_dag", "Graph/table", show=False),  # in ? and ctrl+p
        Binding("v", "toggle_tiles", "Agents side by side", show=False),
        Binding("enter", "app.detail", "Detail", show=False),
        Binding("left_square_bracket", "app.cycle_log(-1)", "Prev log", show=False),
        Binding("right_square_bracket", "app.cycle_log(1)", "Next log", show=False),
        Binding("w", "app.permissions", "Waiting", show=False),  # ui/asking_actions.py
        Binding("m", "app.say", "Say", show=False),
        Binding("i", "app.interrupt", "Interrupt", show=False),
        Binding("H", "app.past_runs", "Past runs", show=False),  # ui/screens/runs_list.py
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "app.request_quit", "Quit"),
    ]

    # What the widgets read. `state` and `plan` are replaced, never mutated: each change is
    # a new object, so always_update spares comparing two 500-task states. The screen draws
    # none of them itself (repaint=False): the bound widgets repaint what changed, instead
    # of the whole screen on every event and clock tick.
    state: reactive[RunState] = reactive(RunState, always_update=True, repaint=False)
    now: reactive[float] = reactive(0.0, repaint=False)
    plan: reactive[PlanView] = reactive(PlanView, always_update=True, repaint=False)
    engine_failure: reactive[str] = reactive("", repaint=False)

    class Resumed(Message):
        """The run screen is on top again (a dialog or another screen closed)."""

    def __init__(self, log_file: Callable[[str], Path | None]) -> None:
        super().__init__()
        # Kept, not queried: the app may fold events while the screen is being torn down.
        self.header = RunHeader(id="header")
        self.board = PipelineBoard(id="board")
        self.alerts = AlertBanner(id="alerts")
        self.asking = AskingBanner(id="asking")  # the permission queue (asking_actions.py)
        self.graph = DagGraph(id="graph")  # the DAG pane: the graph, or (g) the wave table
        self.tasks = TaskTable(id="tasks")
        self.logs = AgentLogPanes(log_file, id="logs")
        self.tiles = AgentTiles(self.logs, id="tiles")  # `v`: the agents side by side
        self.footer = Footer()

    def compose(self) -> ComposeResult:
        state, now, plan, failure = (
            RunScreen.state,
            RunScreen.now,
            RunScreen.plan,
            RunScreen.engine_failure,
        )
        yield self.header.data_bind(state, now, failure)
        yield self.board.data_bind(state, now)
        yield self.alerts.data_bind(state, plan, failure)
        yield self.asking.data_bind(state)
        with Container(id="main"):
            yield self.graph.data_bind(state, now, plan)
            yield self.tasks.data_bind(state, now, plan)
            yield self.logs
            yield self.tiles.data_bind(state, now)
        yield self.footer

    def on_resize(self) -> None:
        # Below the wide breakpoint every key must fit whole: the compact footer does.
        self.footer.compact = self.size.width < 110

    def on_screen_resume(self) -> None:
        self.post_message(RunScreen.Resumed())

    def on_mount(self) -> None:
        self.logs.border_title = "Agent output"
        self.tasks.show(False)
        self.tasks.border_subtitle = "g graph · v tiles"
        self.logs.after_flush = self.tiles.lines_arrived
        self.graph.focus()

    # ---- the DAG pane: the graph or the wave table, one cursor -------------------------

    @property
    def showing_tiles(self) -> bool:
        return self.has_class("-tiles")

    @property
    def selected_task(self) -> str | None:
        """The task the keys act on: the selected tile's, else the DAG pane's."""
        if self.showing_tiles:
            return self.tiles.selected_task
        return self.dag_view.selected_task

    def action_toggle_tiles(self) -> None:
        """`v`: the running agents side by side (the whole main area) ⇄ the DAG pane and
        one agent's log; the selected tile's task becomes the DAG pane's selection."""
        if self.showing_tiles:
            chosen = self.tiles.selected_task
            self.remove_class("-tiles")
            self.tiles.show(False)
            if chosen is not None:
                self.select(chosen)
            self.dag_view.focus()
            return
        selected = self.selected_task
        self.add_class("-tiles")
        self.tiles.show(True, selected)
        self.tiles.focus()

    def action_toggle_dag(self) -> None:
        """`g`: the graph ⇄ the wave table, on the same selected task."""
        self.swap_dag_view(focus=self.focused in (self.graph, self.tasks, None))

    def fold_quietly(self, state: RunState) -> None:
        """Take a state whose change no widget shows (an output line's `last_line`): the
        widgets read it with the next change or clock tick."""
        self.set_reactive(RunScreen.state, state)
