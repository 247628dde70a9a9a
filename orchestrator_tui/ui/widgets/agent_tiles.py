"""Agents side by side: the running agents' logs as tiles, 2, 4 or 6 at once (as the
pane's size allows), the rest a page away.

Each tile (agent_tile.py) shows one running task's newest lines from its bounded buffer
in the log panes (agent_logs.py: the same buffers the tabs read, no copy), its task,
state, elapsed time and tokens in its border. The arrows move between tiles (past the
edge of a page to the next), `[` `]` turn pages, `z` zooms the selected tile to the whole
area and back, Enter opens its task. With no agent running, the tiles show the last
agents that ran. Bound to the run screen's state and clock; the log panes tell it after
each drain of the agents' output (`lines_arrived`), so a tile redraws at most every
FLUSH_SECONDS, and only when its buffer grew.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.message import Message
from textual.reactive import reactive

from ...core.models import TaskStatus
from ...core.state import RunState
from .agent_logs import AgentLogPanes, Pane
from .agent_tile import AgentTile

MAX_TILES = 6
LINGER_SECONDS = 15.0  # a finished agent's tile stays this long


def capacity(width: int, height: int) -> int:
    """How many tiles fit: 6 on a big screen, 4 on a middling one, else 2."""
    if width >= 150 and height >= 28:
        return 6
    if width >= 100 and height >= 20:
        return 4
    return 2


def grid_of(count: int, room: int, width: int) -> tuple[int, int]:
    """Columns and rows for `count` tiles of a page of `room`."""
    if count <= 1:
        return 1, 1
    if room == 6:
        return (3, 2) if count >= 5 else (2, 2) if count == 4 else (count, 1)
    if room == 4:
        return (2, 2) if count >= 3 else (2, 1)
    return (2, 1) if width >= 120 else (1, 2)


class AgentTiles(Container, can_focus=True):
    """The tiles; `selected` indexes `order` (the tasks shown, page after page)."""

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
        Binding("left_square_bracket,pageup", "page(-1)", "Prev page", show=False),
        Binding("right_square_bracket,pagedown", "page(1)", "Next page", show=False),
        Binding("z", "zoom", "Zoom", show=False),
        Binding("enter", "choose", "Detail", show=False),
    ]

    class TaskChosen(Message):
        """Enter on a tile: open its task."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    state: reactive[RunState] = reactive(RunState, always_update=True, repaint=False)
    now: reactive[float] = reactive(0.0, repaint=False)

    def __init__(self, logs: AgentLogPanes, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.logs = logs
        self.tiles = [AgentTile(id=f"tile-{n}") for n in range(MAX_TILES)]
        self.order: list[str] = []
        self.selected = 0
        self.zoomed = False
        self.shape: tuple[int, int, int, bool] = (0, 0, 0, False)  # room, cols, rows, zoom

    def compose(self) -> ComposeResult:
        yield from self.tiles

    # ---- what is shown -----------------------------------------------------------------

    @property
    def room(self) -> int:
        return 1 if self.zoomed else capacity(self.size.width, self.size.height)

    @property
    def page(self) -> int:
        return self.selected // max(1, self.room)

    @property
    def selected_task(self) -> str | None:
        return self.order[self.selected] if 0 <= self.selected < len(self.order) else None

    def tasks_to_show(self) -> list[str]:
        """The running tasks in plan order, then — in what room their pages leave — those
        that ended in the last LINGER_SECONDS (their last lines stay readable); with none
        running, the last that ran."""
        tasks, now = self.state.tasks, self.now
        running = [t for t, task in tasks.items() if task.status == TaskStatus.RUNNING]
        if running:
            room = self.room
            spare = -len(running) % room
            ended = [
                t
                for t, task in tasks.items()
                if task.status != TaskStatus.RUNNING
                and task.finished_at
                and 0 <= now - task.finished_at < LINGER_SECONDS
            ]
            ended.sort(key=lambda t: -tasks[t].finished_at)  # the newest first
            return running + ended[:spare]
        ran = [t for t in reversed(self.logs.panes) if t in tasks and tasks[t].started_at]
        return ran[:MAX_TILES]

    def show(self, shown: bool, selected: str | None = None) -> None:
        """On screen (on `selected`'s tile if it has one) or off; off, it does nothing."""
        self.display = shown
        if shown:
            order = self.tasks_to_show()
            if selected in order:
                self.order, self.selected = order, order.index(selected)
            self.sync()
            self.call_after_refresh(self.sync)  # again with the size it is laid out at

    def watch_state(self) -> None:
        self.sync()

    watch_now = watch_state

    def on_resize(self) -> None:
        self.sync()

    def sync(self) -> None:
        """Assign the page's tasks to tiles, lay the grid out, label the tiles."""
        if not self.display:
            return
        selected = self.selected_task
        self.order = self.tasks_to_show()
        if selected in self.order:
            self.selected = self.order.index(selected)
        self.selected = max(0, min(self.selected, len(self.order) - 1))
        room = self.room
        start = self.page * room
        page = self.order[start : start + room]
        columns, rows = grid_of(len(page), room, self.size.width)
        shape = (room, columns, rows, self.zoomed)
        if shape != self.shape:
            self.shape = shape
            self.styles.grid_size_columns = columns
            self.styles.grid_size_rows = rows
        for n, tile in enumerate(self.tiles):
            task_id = page[n] if n < len(page) else None
            pane = self.pane_of(task_id) if task_id is not None else None
            tile.assign(pane)
            tile.display = pane is not None
            tile.set_class(task_id is not None and task_id == self.selected_task, "-selected")
            if task_id is not None:
                width = self.size.width // max(1, columns)
                tile.label(self.state.tasks.get(task_id), self.now, width)
        pages = -(-len(self.order) // room) if self.order else 0
        self.border_title = self.caption(pages)

    def caption(self, pages: int) -> str:
        count = len(self.order)
        if not count:
            return "Agents · none has run yet"
        tasks = self.state.tasks
        running = sum(1 for t in self.order if t in tasks and tasks[t].status == TaskStatus.RUNNING)
        ended = count - running
        if running:
            what = f"{running} running" + (f", {ended} just ended" if ended else "")
        else:
            what = f"the last {count} that ran"
        if self.zoomed:
            return f"Agents · {what} · {self.selected + 1} of {count} · zoomed (z)"
        page = f" · page {self.page + 1}/{pages} ([ ])" if pages > 1 else ""
        return f"Agents · {what}{page}"

    def pane_of(self, task_id: str) -> Pane:
        """A running task's pane gets its lines from the buffers (this state may be ahead
        of the log panes hearing that it started: no file tail, or its first lines would
        show twice); an ended one starts from its log file's tail if it has no lines."""
        task = self.state.tasks.get(task_id)
        if task is not None and task.status == TaskStatus.RUNNING:
            return self.logs.pane(task_id)
        return self.logs.filled(task_id)

    def lines_arrived(self) -> None:
        """After each drain of the agents' output: redraw the tiles whose buffer grew."""
        if self.display:
            for tile in self.tiles:
                if tile.display:
                    tile.lines_added()

    # ---- keys --------------------------------------------------------------------------

    def action_move(self, dx: int, dy: int) -> None:
        """To the neighbouring tile; past the page's edge, to the next or previous page."""
        if not self.order:
            return
        columns = max(1, self.shape[1])
        step = dx + dy * columns
        self.selected = max(0, min(len(self.order) - 1, self.selected + step))
        self.sync()

    def action_page(self, step: int) -> None:
        if not self.order:
            return
        room = self.room
        self.selected = max(0, min(len(self.order) - 1, (self.page + step) * room))
        self.sync()

    def action_zoom(self) -> None:
        self.zoomed = not self.zoomed
        self.sync()

    def action_choose(self) -> None:
        if self.selected_task is not None:
            self.post_message(AgentTiles.TaskChosen(self.selected_task))
