"""The task DAG pane as a graph: tasks in layers by depth, their dependencies as lines.

Left to right: a task's column is its wave; each task a node `▶ T3 ★ Payment API` in its
status's colour, ★ on the critical path (whose edges are drawn in its colour too), ≈n for
the n-th group of tasks that may touch the same files. The cursor is the selected task:
←/→ follow an edge to a dependency / a dependent (the one nearest its row), ↑/↓ move
within the layer, Enter opens the task's detail; the selected task's edges and
neighbours are lit, and `e` draws only them (a 500-task plan's edges are a thicket).

A Line API widget like the table: the layout and the routing (ui/graph_layout.py) are
made when the set of tasks or their dependencies change, the level of detail
(ui/graph_picture.py: how much title each layer shows) when a layer finishes or the pane
is resized, and each row is drawn only when it scrolls into sight, then cached until a
status or the cursor's neighbourhood changes it. `g` on the run screen swaps it with the
wave table.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip

from ...core.models import TaskStatus
from ...core.state import RunState, TaskState
from ..graph_layout import GraphLayout, layout_graph
from ..graph_picture import (
    CRITICAL_MARK,
    Frame,
    Label,
    Piece,
    frame_for,
    label_of,
    row_pieces,
    task_at,
)
from ..graph_routing import Edge
from ..plan_view import PlanView
from ..view import DagLayout
from .strip_cache import StripCacheView
from .task_table import tasks_title

FINISHED = (TaskStatus.DONE, TaskStatus.SKIPPED)
AT_WORK = (TaskStatus.RUNNING, TaskStatus.FAILED, TaskStatus.CONFLICT, TaskStatus.TAKEN_OVER)
KEYS_HINT = "←→ edges · e lines · g table · v tiles"


class DagGraph(StripCacheView, can_focus=True):
    """The graph of the plan's tasks; `cursor` is the selected task's ID."""

    BINDINGS = [
        Binding("left,h", "along(-1)", "Dependency", show=False),
        Binding("right,l", "along(1)", "Dependent", show=False),
        Binding("up,k", "within(-1)", "Up", show=False),
        Binding("down,j", "within(1)", "Down", show=False),
        Binding("pageup", "within(-10)", "Page up", show=False),
        Binding("pagedown", "within(10)", "Page down", show=False),
        Binding("home", "within(-100000)", "First", show=False),
        Binding("end", "within(100000)", "Last", show=False),
        Binding("e", "edges", "Lines", show=False),
        Binding("enter", "choose", "Detail", show=False),
    ]
    COMPONENT_CLASSES = {f"dag-graph--{status.value}" for status in TaskStatus} | {
        "dag-graph--critical",
        "dag-graph--edge",
        "dag-graph--edge-critical",
        "dag-graph--edge-selected",
        "dag-graph--near",
        "dag-graph--cursor",
        "dag-graph--cursor-blurred",
    }

    class TaskHighlighted(Message):
        """The cursor moved to a task."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    class TaskChosen(Message):
        """Enter (or a click on the selected node): open the task's detail."""

        def __init__(self, task_id: str) -> None:
            super().__init__()
            self.task_id = task_id

    state: reactive[RunState] = reactive(RunState, always_update=True, repaint=False)
    now: reactive[float] = reactive(0.0, repaint=False)
    plan: reactive[PlanView] = reactive(PlanView, always_update=True, repaint=False)

    def __init__(self, *, id: str | None = None, keys_hint: str = KEYS_HINT) -> None:
        """`keys_hint`: the keys said under the pane (the past-run screen's ←/→ are its
        timeline's, so it says h/l)."""
        super().__init__(id=id)
        self.keys_hint = keys_hint
        self.graph = GraphLayout()
        self.shape: tuple[tuple[str, tuple[str, ...]], ...] = ()  # what the layout was made of
        self.labels: dict[str, Label] = {}
        self.statuses: dict[str, TaskStatus] = {}
        self.frame = Frame()
        self.critical: frozenset[str] = frozenset()
        self.cursor: str | None = None
        self.only_selected = False  # `e`: draw only the selected task's edges
        self.strips: dict[int, Strip] = {}
        self.window = (0, 0)  # the first column and the width the cached rows were drawn for
        self.seen: dict[str, TaskState] = {}  # the task states the labels were made from
        self.dag_layout = DagLayout()
        self.finished: set[int] = set()  # layers whose tasks are all done or skipped
        self.styles_cache: dict[str, Style] = {}
        self.shown = True
        self.scroll_pending = False  # the cursor moved while the pane had no size
        self.working: set[int] = set()  # the layers at work (the last to lose their titles)

    # ---- what is selected --------------------------------------------------------------

    @property
    def selected_task(self) -> str | None:
        return self.cursor

    def select(self, task_id: str) -> None:
        if task_id in self.graph.place:
            self.move_to(task_id)

    def move_to(self, task_id: str) -> None:
        if task_id == self.cursor or task_id not in self.graph.place:
            return
        previous, self.cursor = self.cursor, task_id
        self.forget_near(previous, task_id)
        self.scroll_to_cursor()
        self.caption()
        self.post_message(DagGraph.TaskHighlighted(task_id))

    def forget_near(self, *task_ids: str | None) -> None:
        rows: set[int] = set()
        for task_id in task_ids:
            if task_id is not None and task_id in self.graph.place:
                rows |= self.graph.rows_touched(task_id)
        self.forget_rows(*rows)

    def scroll_to_cursor(self) -> None:
        if self.cursor is None:
            return
        layer, row = self.graph.place[self.cursor]
        region = self.scrollable_content_region
        if not region.width or not region.height:  # hidden (the tiles, the table): later
            self.scroll_pending = True
            return
        self.scroll_pending = False
        top, left = round(self.scroll_offset.y), round(self.scroll_offset.x)
        y = top
        if row < top:
            y = row
        elif row >= top + max(1, region.height):
            y = row - max(1, region.height) + 1
        start, width = self.frame.starts[layer], self.frame.widths[layer]
        x = left
        if start < left:
            x = start
        elif start + width > left + max(1, region.width):
            x = start + width - max(1, region.width)
        if (x, y) != (left, top):
            self.scroll_to(x=x, y=y, animate=False)

    def action_along(self, step: int) -> None:
        """To the dependency (step -1) or dependent (+1) whose row is nearest."""
        if self.cursor is None:
            return
        near = (self.graph.depends if step < 0 else self.graph.dependents).get(self.cursor, ())
        if near:
            row = self.graph.place[self.cursor][1]
            self.move_to(min(near, key=lambda t: (abs(self.graph.place[t][1] - row), t)))

    def action_within(self, step: int) -> None:
        """Up or down the cursor's layer, `step` tasks."""
        if self.cursor is None:
            return
        layer = self.graph.layer(self.graph.place[self.cursor][0])
        index = max(0, min(len(layer) - 1, layer.index(self.cursor) + step))
        self.move_to(layer[index])

    def action_edges(self) -> None:
        self.only_selected = not self.only_selected
        self.strips.clear()
        self.refresh()
        self.caption()

    def caption(self) -> None:
        """Under the pane: the selected task's title (whatever the level of detail shows)
        and the keys."""
        label = self.labels.get(self.cursor or "")
        keys = f"{self.keys_hint}: selected" if self.only_selected else self.keys_hint
        caption = f"{self.cursor} {label.title} · {keys}" if label else keys
        if caption != self.border_subtitle:  # setting it repaints the whole pane
            self.border_subtitle = caption

    def action_choose(self) -> None:
        if self.cursor is not None:
            self.post_message(DagGraph.TaskChosen(self.cursor))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        x, y = round(self.scroll_offset.x) + offset.x, round(self.scroll_offset.y) + offset.y
        task = task_at(self.graph, self.frame, x, y)
        if task is None:
            return
        if task == self.cursor or event.chain > 1:
            self.post_message(DagGraph.TaskChosen(task))
        else:
            self.move_to(task)

    def on_focus(self) -> None:
        self.forget_near(self.cursor)

    def on_blur(self) -> None:
        self.forget_near(self.cursor)

    # ---- data ---------------------------------------------------------------------------

    def watch_state(self) -> None:
        self.sync()

    watch_plan = watch_state

    def on_resize(self) -> None:
        self.sync(force_frame=True)
        if self.scroll_pending:
            self.scroll_to_cursor()

    def show(self, shown: bool) -> None:
        """The run screen shows the graph (or the table): hidden, it costs nothing per
        event, and catches up when it is shown."""
        self.shown = shown
        if shown:
            self.sync(force_frame=True)

    def sync(self, force_frame: bool = False) -> None:
        """Re-lay the graph when the tasks or their edges changed, re-frame it when the
        level of detail must change, else redraw the rows of the tasks that changed.
        Only the tasks whose state is a new object are looked at again."""
        if not self.shown:
            return
        title = tasks_title(self.state, self.plan)
        if title != self.border_title:  # setting a border title repaints the whole pane
            self.border_title = title
        tasks, layout = self.plan.tasks(self.state), self.plan.layout
        ids = list(tasks)  # plan order: within a layer, ties keep it
        shape = tuple((t, tasks[t].depends) for t in ids)
        relaid = shape != self.shape
        if relaid:
            self.shape = shape
            self.graph = layout_graph(ids, {t: tasks[t].depends for t in ids})
        marks_changed = layout is not self.dag_layout
        self.dag_layout, self.critical = layout, layout.critical
        seen = self.seen
        changed = [t for t in ids if marks_changed or tasks[t] is not seen.get(t)]
        self.seen = dict(tasks)
        resized = False
        for task_id in changed:
            task = tasks[task_id]
            label = label_of(task, task_id in layout.critical, layout.group_of.get(task_id))
            old = self.labels.get(task_id)
            if old is None or len(old.head) != len(label.head) or old.title != label.title:
                resized = True
            self.labels[task_id] = label
            self.statuses[task_id] = task.status
        if relaid:
            self.labels = {t: self.labels[t] for t in ids}
            self.statuses = {t: self.statuses[t] for t in ids}
        finished = self.finished_layers(
            {self.graph.place[t][0] for t in changed}, everything=relaid
        )
        focus = self.at_work
        refocused, self.working = focus != self.working, focus
        self.caption()
        if relaid or force_frame or resized or finished or refocused:
            frame = self.frame_now()
            if relaid or frame != self.frame:
                self.frame = frame
                self.strips.clear()
                self.virtual_size = Size(frame.width, self.graph.height)
                self.keep_cursor(ids)
                self.refresh()
                return
        self.forget_rows(*(self.graph.place[t][1] for t in changed))

    def finished_layers(self, layers: set[int], everything: bool) -> bool:
        """Update which layers are finished (all done or skipped); whether that changed."""
        before = set(self.finished)
        if everything:
            layers, self.finished = set(range(self.graph.layer_count)), set()
        for n in layers:
            done = all(self.statuses.get(t) in FINISHED for t in self.graph.layer(n))
            (self.finished.add if done else self.finished.discard)(n)
        return self.finished != before

    def frame_now(self) -> Frame:
        room = self.scrollable_content_region.width or self.size.width
        return frame_for(self.graph, self.labels, room, self.finished, self.at_work)

    @property
    def at_work(self) -> set[int]:
        """The layers with a task running or failed: their titles go last."""
        return {
            self.graph.place[t][0]
            for t, status in self.statuses.items()
            if status in AT_WORK and t in self.graph.place
        }

    def keep_cursor(self, ids: list[str]) -> None:
        if self.cursor in self.graph.place:
            return
        self.cursor = ids[0] if ids else None
        if self.cursor is not None:
            self.post_message(DagGraph.TaskHighlighted(self.cursor))

    def forget_rows(self, *rows: int) -> None:
        top = round(self.scroll_offset.y)
        for row in rows:
            self.strips.pop(row, None)
            self.refresh_line(row - top)

    # ---- drawing ------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.base_style
        row = round(self.scroll_offset.y) + y
        if not 0 <= row < self.graph.height:
            return Strip.blank(width, base)
        window = (round(self.scroll_offset.x), width)
        if window != self.window:  # scrolled sideways or resized: rows drawn anew
            self.window = window
            self.strips.clear()
        strip = self.strips.get(row)
        if strip is None:
            strip = self.strips[row] = self.row_strip(row, base, *window)
        return strip

    def row_strip(self, row: int, base: Style, left: int, width: int) -> Strip:
        """The row's part in sight: only the layers that reach into it are drawn."""
        pieces = row_pieces(self.graph, self.labels, self.frame, row, (left, left + width))
        origin = min(left, pieces[0].x) if pieces else left
        segments: list[Segment] = []
        x = origin
        for piece in pieces:
            chunk, style = self.piece_look(piece)
            if piece.x > x:
                segments.append(Segment(" " * (piece.x - x), base))
            if piece.task in self.critical and CRITICAL_MARK in chunk:
                mark = chunk.index(CRITICAL_MARK)
                segments.append(Segment(chunk[:mark], style))
                segments.append(Segment(CRITICAL_MARK, style + self.own_style("critical")))
                segments.append(Segment(chunk[mark + 1 :], style))
            else:
                segments.append(Segment(chunk, style))
            x = piece.x + cell_len(chunk)
        strip = Strip(segments, x - origin)
        return strip.crop_extend(left - origin, left - origin + width, base)

    def piece_look(self, piece: Piece) -> tuple[str, Style]:
        if piece.task:
            return piece.text, self.node_style(piece.task)
        mine = self.cursor is not None and any(self.cursor in edge for edge in piece.edges)
        if self.only_selected and not mine:
            return " " * len(piece.text), self.base_style
        if mine:
            text = piece.text
            if self.only_selected and piece.cells:
                edges = self.graph.edges_of(self.cursor or "")
                text = "".join(cell.char_of(edges) for cell in piece.cells)
            return text, self.style("edge-selected")
        if any(self.critical_edge(edge) for edge in piece.edges):
            return piece.text, self.style("edge-critical")
        return piece.text, self.style("edge")

    def critical_edge(self, edge: Edge) -> bool:
        return edge[0] in self.critical and edge[1] in self.critical

    def node_style(self, task_id: str) -> Style:
        status = self.statuses.get(task_id, TaskStatus.PENDING)
        style = self.style(status.value)
        if task_id == self.cursor:
            return style + self.own_style("cursor" if self.has_focus else "cursor-blurred")
        if self.cursor is not None and self.graph.neighbours(self.cursor, task_id):
            return style + self.own_style("near")
        return style

    def style(self, name: str) -> Style:
        """A component class's style over the pane's own, cached (the DOM walk is slow)."""
        style = self.styles_cache.get(name)
        if style is None:
            style = self.styles_cache[name] = self.base_style + self.own_style(name)
        return style

    def own_style(self, name: str) -> Style:
        """Only what the component class sets (a mark over the cursor keeps its ground)."""
        key = f"own-{name}"
        style = self.styles_cache.get(key)
        if style is None:
            style = self.get_component_rich_style(
                f"dag-graph--{name}", partial=True, default=Style()
            )
            self.styles_cache[key] = style
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.styles_cache = {}
