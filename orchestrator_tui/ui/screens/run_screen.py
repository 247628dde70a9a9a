"""The main screen: header, pipeline board, alerts, task DAG pane, agent log panes, keys.

It only lays out and draws; the app folds events into a RunState and hands it over with
`draw`. Keys are bound here (so modals do not inherit them) to the app's actions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from ...core.models import TaskStatus
from ...core.state import RunState, TaskState
from ..view import DagLayout
from ..widgets.agent_logs import AgentLogPanes
from ..widgets.alert_banner import AlertBanner
from ..widgets.pipeline_board import PipelineBoard
from ..widgets.run_header import RunHeader
from ..widgets.task_table import TaskTable


class RunScreen(Screen[None]):
    CSS_PATH = "run_screen.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (18, "-tall")]

    BINDINGS = [
        Binding("a", "app.approve", "Approve"),
        Binding("r", "app.reject", "Reject"),
        Binding("p", "app.pause", "Pause"),
        Binding("R", "app.retry", "Retry"),
        Binding("s", "app.skip", "Skip"),
        Binding("d", "app.diff", "Diff"),
        Binding("enter", "app.detail", "Detail", show=False),
        Binding("left_square_bracket", "app.cycle_log(-1)", "Prev log", show=False),
        Binding("right_square_bracket", "app.cycle_log(1)", "Next log", show=False),
        Binding("question_mark", "app.help", "Help"),
        Binding("q", "app.request_quit", "Quit"),
    ]

    class Resumed(Message):
        """The run screen is on top again (a dialog or another screen closed)."""

    def __init__(self, log_file: Callable[[str], Path | None]) -> None:
        super().__init__()
        # Kept, not queried: the app may draw while the screen is being torn down.
        self.header = RunHeader(id="header")
        self.board = PipelineBoard(id="board")
        self.alerts = AlertBanner(id="alerts")
        self.tasks = TaskTable(id="tasks")
        self.logs = AgentLogPanes(log_file, id="logs")
        self.footer = Footer()

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.board
        yield self.alerts
        with Container(id="main"):
            yield self.tasks
            yield self.logs
        yield self.footer

    def on_resize(self) -> None:
        # Below the wide breakpoint every key must fit whole: the compact footer does.
        self.footer.compact = self.size.width < 110

    def on_screen_resume(self) -> None:
        self.post_message(RunScreen.Resumed())

    def on_mount(self) -> None:
        self.tasks.border_title = "Tasks"
        self.logs.border_title = "Agent output"
        self.tasks.focus()

    def draw(
        self,
        state: RunState,
        tasks: Mapping[str, TaskState],
        layout: DagLayout,
        now: float,
        alerts: tuple[str, ...] = (),
        engine_note: str = "",
        preview: bool = False,
    ) -> None:
        self.header.show(state, now, engine_note)
        self.board.show(state, now)
        self.alerts.show(alerts)
        table = self.tasks
        table.show(tasks, layout, now)
        done = sum(1 for t in tasks.values() if t.status == TaskStatus.DONE)
        title = f"Tasks {done}/{len(tasks)}"
        if layout.wave_count:
            title += f" · {layout.wave_count} waves"
        if layout.critical:
            title += " · ★ critical path"
        if preview:
            title += " · preview of the plan"
        table.border_title = title
