"""The task DAG pane: every task by wave, with status, agent, time, tokens and cost.

A DataTable renders only the rows on screen, so a 500-task plan costs 500 small tuples,
not 500 widgets. `show` updates only the cells that changed; the rows are rebuilt only
when the set or order of tasks changes (a plan reload).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from ...core.models import TaskStatus
from ...core.state import TaskState
from ..view import TASK_ICONS, DagLayout, fmt_cost, fmt_duration, fmt_tokens, shorten, task_elapsed

Cells = tuple[str, str, str, str, str, str, str, str, str]
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("crit", "", 1),
    ("wave", "W", 2),
    ("id", "ID", 6),
    ("title", "Task", 20),
    ("status", "Status", 10),
    ("agent", "Agent", 9),
    ("time", "Time", 6),
    ("tokens", "Tokens", 6),
    ("cost", "Cost", 7),
)
MAX_ID_WIDTH = 16
MIN_TITLE_WIDTH = 12
CRITICAL_MARK = "★"


class TaskTable(DataTable[Text]):
    """Rows keyed by task ID; the cursor is the selected task."""

    COMPONENT_CLASSES = (
        DataTable.COMPONENT_CLASSES
        | {f"task-table--{status.value}" for status in TaskStatus}
        | {"task-table--critical", "task-table--dim"}
    )

    class TaskHighlighted(Message):
        """The cursor moved to a task."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    class TaskChosen(Message):
        """Enter (or a click) on a task: open its detail."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_cursor=True)
        self.rendered: dict[str, Cells] = {}
        self.order: tuple[str, ...] = ()
        self.widths: tuple[int, ...] = ()
        self.tasks: Mapping[str, TaskState] = {}
        self.dag_layout = DagLayout()
        self.now = 0.0

    # ---- what is selected --------------------------------------------------------------

    @property
    def selected_task(self) -> str | None:
        if not self.order or self.cursor_row < 0 or self.cursor_row >= len(self.order):
            return None
        return self.order[self.cursor_row]

    def select(self, task_id: str) -> None:
        if task_id in self.order:
            self.move_cursor(row=self.order.index(task_id))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(TaskTable.TaskHighlighted(str(event.row_key.value)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(TaskTable.TaskChosen(str(event.row_key.value)))

    # ---- drawing ------------------------------------------------------------------------

    def show(self, tasks: Mapping[str, TaskState], layout: DagLayout, now: float) -> None:
        self.tasks, self.dag_layout, self.now = tasks, layout, now
        placed = set(layout.order)
        order = tuple(t for t in layout.order if t in tasks) + tuple(
            t for t in tasks if t not in placed
        )
        widths = self.column_widths(order)
        if order != self.order or widths != self.widths:
            self.rebuild(order, widths)
            return
        for task_id in order:
            cells = self.cells_of(task_id)
            old = self.rendered.get(task_id)
            if cells == old:
                continue
            self.rendered[task_id] = cells
            assert old is not None
            for (key, _label, _width), value, before in zip(COLUMNS, cells, old, strict=True):
                if value != before:
                    self.update_cell(task_id, key, self.styled(task_id, key, value))

    def on_resize(self) -> None:
        if self.order:
            self.show(self.tasks, self.dag_layout, self.now)

    def column_widths(self, order: tuple[str, ...]) -> tuple[int, ...]:
        id_width = min(MAX_ID_WIDTH, max([len(t) for t in order] + [COLUMNS[2][2]]))
        widths = [w for _key, _label, w in COLUMNS]
        widths[2] = id_width
        fixed = sum(widths) - widths[3] + 2 * self.cell_padding * len(COLUMNS)
        available = self.scrollable_content_region.width or self.size.width
        widths[3] = max(MIN_TITLE_WIDTH, available - fixed - 1)
        return tuple(widths)

    def rebuild(self, order: tuple[str, ...], widths: tuple[int, ...]) -> None:
        selected = self.selected_task
        self.clear(columns=True)
        for (key, label, _width), width in zip(COLUMNS, widths, strict=True):
            self.add_column(label, key=key, width=width)
        self.order, self.widths = order, widths
        self.rendered = {}
        for task_id in order:
            cells = self.cells_of(task_id)
            self.rendered[task_id] = cells
            row = [
                self.styled(task_id, key, v)
                for (key, _l, _w), v in zip(COLUMNS, cells, strict=True)
            ]
            self.add_row(*row, key=task_id)
        if selected in order:
            self.move_cursor(row=order.index(selected), animate=False)

    def cells_of(self, task_id: str) -> Cells:
        task = self.tasks[task_id]
        wave = self.dag_layout.wave_of.get(task_id)
        status = f"{TASK_ICONS[task.status]} {task.status.value}"
        if task.status == TaskStatus.RUNNING and task.attempt > 1:
            status += f" #{task.attempt}"
        title_width = self.widths[3] if self.widths else COLUMNS[3][2]
        elapsed = task_elapsed(task, self.now)
        return (
            CRITICAL_MARK if task_id in self.dag_layout.critical else "",
            str(wave + 1) if wave is not None else "-",
            shorten(task_id, MAX_ID_WIDTH),
            shorten(task.title or "", title_width),
            status,
            shorten(task.agent or "", COLUMNS[5][2]),
            fmt_duration(elapsed) if task.started_at else "",
            fmt_tokens(task.tokens) if task.tokens else "",
            fmt_cost(task.cost_usd) if task.cost_usd else "",
        )

    def styled(self, task_id: str, column: str, value: str) -> Text:
        task = self.tasks[task_id]
        style = Style()
        if column == "status":
            style = self.component_style(f"task-table--{task.status.value}")
        elif column == "crit" or (column == "id" and task_id in self.dag_layout.critical):
            style = self.component_style("task-table--critical")
        elif column in ("wave", "agent"):
            style = self.component_style("task-table--dim")
        return Text(value, style=style, no_wrap=True, overflow="ellipsis")

    def component_style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)
