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
is resized, and a row is drawn again only when a status or the cursor's neighbourhood
changes it. This module is the keys, the messages and the keeping up with the run; the
rows are drawn, and cached, by its base class (ui/widgets/graph_canvas.py). `g` on the
run screen swaps it with the wave table.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive

from ...core.models import TaskStatus
from ...core.state import RunState, TaskState
from ..graph_layout import layout_graph
from ..graph_picture import Frame, frame_for, label_of, task_at
from ..plan_view import PlanView
from ..view import DagLayout
from .graph_canvas import GraphCanvas
from .task_table import tasks_title

FINISHED = (TaskStatus.DONE, TaskStatus.SKIPPED)
AT_WORK = (TaskStatus.RUNNING, TaskStatus.FAILED, TaskStatus.CONFLICT, TaskStatus.TAKEN_OVER)
KEYS_HINT = "←→ edges · e lines · g table · v tiles"


class DagGraph(GraphCanvas, can_focus=True):
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
        self.shape: tuple[tuple[str, tuple[str, ...]], ...] = ()  # what the layout was made of
        self.seen: dict[str, TaskState] = {}  # the task states the labels were made from
        self.dag_layout = DagLayout()
        self.finished: set[int] = set()  # layers whose tasks are all done or skipped
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
