"""The task DAG pane: every task by wave, with status, agent, time, tokens and cost.

A DataTable renders only the rows on screen, so a 500-task plan costs 500 small tuples,
not 500 widgets. `show` updates only the cells that changed; the rows are rebuilt only
when the set or order of tasks changes (a plan reload).
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from ...core.models import TaskStatus
from ...core.state import TaskState
from ..view import TASK_ICONS, DagLayout, fmt_cost, fmt_duration, fmt_tokens, shorten, task_elapsed

Cells = dict[str, str]
# key: (label, width). Shown in this order; the title takes what the others leave.
COLUMNS: dict[str, tuple[str, int]] = {
    "crit": ("", 1),
    "wave": ("W", 2),
    "id": ("ID", 4),
    "title": ("Task", 0),
    "status": ("Status", 10),
    "agent": ("Agent", 9),
    "time": ("Time", 6),
    "tokens": ("Tokens", 6),
    "cost": ("Cost", 7),
}
# When the pane is narrow these go first, in this order, so the title stays readable.
DROP_ORDER = ("agent", "tokens", "wave", "time", "cost")
MAX_ID_WIDTH = 16
MIN_TITLE_WIDTH = 16
CRITICAL_MARK = "★"


class StyledCell:
    """A cell whose colour comes from the table's component classes when it is drawn, not
    when the data arrives: the table may not be styled yet, and the theme may change."""

    __slots__ = ("component", "table", "text")

    def __init__(self, table: TaskTable, text: str, component: str) -> None:
        self.table = table
        self.text = text
        self.component = component

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        style = self.table.component_style(self.component) if self.component else Style()
        yield Text(self.text, style=style, no_wrap=True, overflow="ellipsis", end="")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(len(self.text), len(self.text))


class TaskTable(DataTable[StyledCell]):
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
        self.widths: dict[str, int] = {}
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
            old = self.rendered[task_id]
            if cells == old:
                continue
            self.rendered[task_id] = cells
            for key in widths:
                if cells[key] != old[key]:
                    self.update_cell(task_id, key, self.styled(task_id, key, cells[key]))

    def on_resize(self) -> None:
        if self.order:
            self.show(self.tasks, self.dag_layout, self.now)

    def column_widths(self, order: tuple[str, ...]) -> dict[str, int]:
        """The columns that fit, with their widths: optional ones are dropped (DROP_ORDER)
        before the title gets narrower than MIN_TITLE_WIDTH."""
        widths = {key: width for key, (_label, width) in COLUMNS.items()}
        widths["id"] = min(MAX_ID_WIDTH, max([len(t) for t in order] + [widths["id"]]))
        available = self.scrollable_content_region.width or self.size.width
        pad = 2 * self.cell_padding

        def title_room() -> int:
            others = sum(w + pad for key, w in widths.items() if key != "title")
            return available - others - pad - 1

        for key in DROP_ORDER:
            if title_room() >= MIN_TITLE_WIDTH:
                break
            del widths[key]
        widths["title"] = max(8, title_room())
        return widths

    def rebuild(self, order: tuple[str, ...], widths: dict[str, int]) -> None:
        selected = self.selected_task
        self.clear(columns=True)
        for key, width in widths.items():
            self.add_column(COLUMNS[key][0], key=key, width=width)
        self.order, self.widths = order, widths
        self.rendered = {}
        for task_id in order:
            cells = self.cells_of(task_id)
            self.rendered[task_id] = cells
            self.add_row(*(self.styled(task_id, k, cells[k]) for k in widths), key=task_id)
        if selected in order:
            self.move_cursor(row=order.index(selected), animate=False)

    def cells_of(self, task_id: str) -> Cells:
        task = self.tasks[task_id]
        wave = self.dag_layout.wave_of.get(task_id)
        status = f"{TASK_ICONS[task.status]} {task.status.value}"
        if task.status == TaskStatus.RUNNING and task.attempt > 1:
            status += f" #{task.attempt}"
        elapsed = task_elapsed(task, self.now)
        return {
            "crit": CRITICAL_MARK if task_id in self.dag_layout.critical else "",
            "wave": str(wave + 1) if wave is not None else "-",
            "id": shorten(task_id, self.widths.get("id", MAX_ID_WIDTH)),
            "title": shorten(task.title or "", self.widths.get("title", MIN_TITLE_WIDTH)),
            "status": status,
            "agent": shorten(task.agent or "", COLUMNS["agent"][1]),
            "time": fmt_duration(elapsed) if task.started_at else "",
            "tokens": fmt_tokens(task.tokens) if task.tokens else "",
            "cost": fmt_cost(task.cost_usd) if task.cost_usd else "",
        }

    def styled(self, task_id: str, column: str, value: str) -> StyledCell:
        task = self.tasks[task_id]
        component = ""
        if column == "status":
            component = f"task-table--{task.status.value}"
        elif column == "crit" or (column == "id" and task_id in self.dag_layout.critical):
            component = "task-table--critical"
        elif column in ("wave", "agent"):
            component = "task-table--dim"
        return StyledCell(self, value, component)

    def component_style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True, default=Style())
