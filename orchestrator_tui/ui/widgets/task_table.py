"""The task DAG pane: every task by wave, with status, agent, time, tokens and cost.

A Line API widget: it draws only the rows on screen, one Strip per row, cached until that
row changes — so a 500-task plan costs 500 small dicts, an event redraws the rows it
touched, and a cursor move redraws two. (A DataTable re-renders every visible cell on any
change, which costs tens of milliseconds a frame under an output flood.) The header row
stays on top; the cursor is the selected task. Bound to the run screen's state, clock and
plan view; `g` on the run screen swaps it with the graph of the same tasks.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.cells import set_cell_size
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from ...core.models import TaskStatus
from ...core.state import RunState, TaskState
from ..plan_view import PlanView
from ..view import TASK_ICONS, DagLayout, fmt_cost, fmt_duration, fmt_tokens, shorten, task_elapsed
from .strip_cache import StripCacheView

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
PAD = 1  # spaces on each side of a cell


def tasks_title(state: RunState, plan: PlanView) -> str:
    """`Tasks 3/8 · 4 waves · ★ critical path`: the title of the DAG pane, table or graph."""
    tasks, layout = plan.tasks(state), plan.layout
    done = sum(1 for t in tasks.values() if t.status == TaskStatus.DONE)
    title = f"Tasks {done}/{len(tasks)}"
    if layout.wave_count:
        title += f" · {layout.wave_count} {'wave' if layout.wave_count == 1 else 'waves'}"
    if layout.critical:
        title += " · ★ critical path"
    if plan.previewing(state):
        title += " · preview of the plan"
    return title


class TaskTable(StripCacheView, can_focus=True):
    """Rows keyed by task ID, in DAG order; `cursor_row` indexes `order`."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,ctrl+home", "edge(0)", "First", show=False),
        Binding("end,ctrl+end", "edge(1)", "Last", show=False),
        Binding("enter", "choose", "Detail", show=False),
    ]
    COMPONENT_CLASSES = {f"task-table--{status.value}" for status in TaskStatus} | {
        "task-table--critical",
        "task-table--dim",
        "task-table--header",
        "task-table--cursor",
        "task-table--cursor-blurred",
    }

    class TaskHighlighted(Message):
        """The cursor moved to a task."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    class TaskChosen(Message):
        """Enter (or a click on the selected row) on a task: open its detail."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    state: reactive[RunState] = reactive(RunState, always_update=True, repaint=False)
    now: reactive[float] = reactive(0.0, repaint=False)
    plan: reactive[PlanView] = reactive(PlanView, always_update=True, repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rendered: dict[str, Cells] = {}
        self.order: tuple[str, ...] = ()
        self.widths: dict[str, int] = {}
        self.tasks: Mapping[str, TaskState] = {}
        self.dag_layout = DagLayout()
        self.cursor_row = 0
        self.strips: dict[tuple[int, bool], Strip] = {}
        self.shown_title = ""
        self.shown = True

    # ---- what is selected --------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.order)

    @property
    def selected_task(self) -> str | None:
        if 0 <= self.cursor_row < len(self.order):
            return self.order[self.cursor_row]
        return None

    def select(self, task_id: str) -> None:
        if task_id in self.order:
            self.move_cursor(self.order.index(task_id))

    def move_cursor(self, row: int) -> None:
        if not self.order:
            return
        row = max(0, min(row, len(self.order) - 1))
        if row == self.cursor_row:
            return
        previous, self.cursor_row = self.cursor_row, row
        self.forget_rows(previous, row)
        self.scroll_to_cursor()
        self.post_message(TaskTable.TaskHighlighted(self.order[row]))

    def scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)  # the header takes one
        top = round(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        page = max(1, self.scrollable_content_region.height - 2)
        self.move_cursor(self.cursor_row + step * page)

    def action_edge(self, end: int) -> None:
        self.move_cursor(len(self.order) - 1 if end else 0)

    def action_choose(self) -> None:
        if self.selected_task is not None:
            self.post_message(TaskTable.TaskChosen(self.selected_task))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = round(self.scroll_offset.y) + offset.y - 1
        if 0 <= row < len(self.order):
            if row == self.cursor_row or event.chain > 1:
                self.post_message(TaskTable.TaskChosen(self.order[row]))
            else:
                self.move_cursor(row)

    def on_focus(self) -> None:
        self.forget_rows(self.cursor_row)

    def on_blur(self) -> None:
        self.forget_rows(self.cursor_row)

    # ---- data ---------------------------------------------------------------------------

    def watch_state(self) -> None:
        self.sync()

    watch_now = watch_plan = watch_state

    def show(self, shown: bool) -> None:
        """The run screen shows this view of the DAG pane (or the graph): a hidden table
        costs nothing per event, and catches up when it is shown."""
        self.shown = shown
        if shown:
            self.sync()

    def sync(self) -> None:
        """Redraw the rows whose cells changed (all of them when the order or the widths
        did), and the pane's title."""
        if not self.shown:
            return
        title = tasks_title(self.state, self.plan)
        if title != self.shown_title:  # setting a border title repaints the whole pane
            self.shown_title = self.border_title = title
        tasks, layout = self.plan.tasks(self.state), self.plan.layout
        self.tasks, self.dag_layout = tasks, layout
        placed = set(layout.order)
        order = tuple(t for t in layout.order if t in tasks) + tuple(
            t for t in tasks if t not in placed
        )
        widths = self.column_widths(order)
        if order != self.order or widths != self.widths:
            self.rebuild(order, widths)
            return
        for row, task_id in enumerate(order):
            cells = self.cells_of(task_id)
            if cells != self.rendered[task_id]:
                self.rendered[task_id] = cells
                self.forget_rows(row)

    def rebuild(self, order: tuple[str, ...], widths: dict[str, int]) -> None:
        selected = self.selected_task
        self.order, self.widths = order, widths
        self.rendered = {task_id: self.cells_of(task_id) for task_id in order}
        self.strips.clear()
        self.virtual_size = Size(1, len(order) + 1)  # columns fit the width: no sideways scroll
        if selected in order:
            self.cursor_row = order.index(selected)
        elif self.cursor_row >= len(order):
            self.cursor_row = max(0, len(order) - 1)
        self.refresh()
        if self.order and selected != self.selected_task:
            self.post_message(TaskTable.TaskHighlighted(self.order[self.cursor_row]))

    def on_resize(self) -> None:
        self.sync()

    def forget_rows(self, *rows: int) -> None:
        for row in rows:
            self.strips.pop((row, True), None)
            self.strips.pop((row, False), None)
            self.refresh_line(row + 1)

    def column_widths(self, order: tuple[str, ...]) -> dict[str, int]:
        """The columns that fit, with their widths: optional ones are dropped (DROP_ORDER)
        before the title gets narrower than MIN_TITLE_WIDTH."""
        widths = {key: width for key, (_label, width) in COLUMNS.items()}
        widths["id"] = min(MAX_ID_WIDTH, max([len(t) for t in order] + [widths["id"]]))
        available = self.scrollable_content_region.width or self.size.width

        def title_room() -> int:
            others = sum(w + 2 * PAD for key, w in widths.items() if key != "title")
            return available - others - 2 * PAD

        for key in DROP_ORDER:
            if title_room() >= MIN_TITLE_WIDTH:
                break
            del widths[key]
        widths["title"] = max(8, title_room())
        return widths

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

    # ---- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.base_style
        if y == 0:
            return self.line_strip(self.header_text(), width, base)
        row = round(self.scroll_offset.y) + y - 1
        if not 0 <= row < len(self.order):
            return Strip.blank(width, base)
        cursor = row == self.cursor_row
        key = (row, cursor)
        strip = self.strips.get(key)
        if strip is None or strip.cell_length != width:
            strip = self.line_strip(self.row_text(row, cursor), width, base)
            self.strips[key] = strip
        return strip

    def line_strip(self, text: Text, width: int, base: Style) -> Strip:
        # Text.render ignores Text.style: the line's own style goes in as the first span,
        # under the cells' spans.
        line_style = text.style if isinstance(text.style, Style) else Style()
        text.style = ""
        text.stylize_before(base + line_style)
        strip = Strip(text.render(self.app.console), text.cell_len)
        return strip.crop_extend(0, width, base)

    def header_text(self) -> Text:
        text = Text(no_wrap=True, end="", style=self.style("header"))
        for key, width in self.widths.items():
            text.append(" " * PAD + set_cell_size(COLUMNS[key][0], width) + " " * PAD)
        return text

    def row_text(self, row: int, cursor: bool) -> Text:
        task_id = self.order[row]
        task = self.tasks[task_id]
        cells = self.rendered[task_id]
        critical = task_id in self.dag_layout.critical
        text = Text(no_wrap=True, end="")
        for key, width in self.widths.items():
            value = cells[key]
            style = Style()
            if key == "status":
                style = self.style(task.status.value)
            elif key == "crit" or (key == "id" and critical):
                style = self.style("critical")
            elif key in ("wave", "agent"):
                style = self.style("dim")
            text.append(" " * PAD)
            text.append(set_cell_size(value, width), style=style)
            text.append(" " * PAD)
        if cursor:
            text.stylize(self.style("cursor" if self.has_focus else "cursor-blurred"))
        return text

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"task-table--{name}", partial=True, default=Style())
