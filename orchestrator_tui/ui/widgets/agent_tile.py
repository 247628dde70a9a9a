"""One agent's tile in the side-by-side layout: its task, state, elapsed time and tokens
in the border, its newest lines inside.

A Line API widget over the task's bounded buffer in the log panes (agent_logs.Pane: no
copy), like LogView: it draws only the last lines that fit, cleaning each (`strip_escapes`)
the first time it draws it, and keeps the strips by line number until they scroll off.
The tiles (agent_tiles.py) assign it a task and tell it when its buffer grew.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from ...core.models import TaskStatus
from ...core.state import TaskState
from ..sanitize import line_kind, strip_escapes
from ..view import TASK_ICONS, fmt_duration, fmt_tokens, shorten, task_elapsed
from .agent_logs import Pane

MAX_CACHED_STRIPS = 200


def tile_title(task_id: str, task: TaskState | None) -> str:
    """`▶ T3 Login page`: what the tile's border says on top."""
    status = task.status if task is not None else TaskStatus.PENDING
    title = f" {task.title}" if task is not None and task.title else ""
    return f"{TASK_ICONS[status]} {task_id}{title}"


def tile_facts(task: TaskState | None, now: float) -> str:
    """`running #2 · 1m05s · 12,400 tok`: under the tile."""
    if task is None:
        return ""
    facts = [task.status.value + (f" #{task.attempt}" if task.attempt > 1 else "")]
    if task.started_at:
        facts.append(fmt_duration(task_elapsed(task, now)))
    if task.tokens:
        facts.append(f"{fmt_tokens(task.tokens)} tok")
    return " · ".join(facts)


class AgentTile(Widget):
    """The newest lines of one task's pane; `pane` is None while the tile is unused."""

    COMPONENT_CLASSES = {"agent-tile--error", "agent-tile--tool", "agent-tile--empty"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.pane: Pane | None = None
        self.seen_total = -1  # the buffer's total when the tile last drew
        self.strips: dict[int, Strip] = {}
        self.cached_base: Style | None = None

    @property
    def task_id(self) -> str | None:
        return self.pane.task_id if self.pane is not None else None

    def assign(self, pane: Pane | None) -> None:
        """Show another task's buffer (or none)."""
        if pane is self.pane:
            return
        self.pane, self.seen_total = pane, -1
        self.strips.clear()
        self.refresh()

    def label(self, task: TaskState | None, now: float, width: int) -> None:
        """The border: the task on top, its state, time and tokens below (set only when
        they change: setting a border title repaints the tile)."""
        if self.pane is None:
            return
        title = shorten(tile_title(self.pane.task_id, task), max(8, width - 4))
        facts = tile_facts(task, now)
        if title != self.border_title:
            self.border_title = title
        if facts != self.border_subtitle:
            self.border_subtitle = facts

    def lines_added(self) -> None:
        """Redraw when the buffer grew since the tile last drew."""
        if self.pane is not None and self.pane.total != self.seen_total:
            self.refresh()

    # ---- drawing ------------------------------------------------------------------------

    @property
    def base_style(self) -> Style:
        if self.cached_base is None:
            self.cached_base = self.rich_style
        return self.cached_base

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.cached_base = None
        self.strips.clear()

    def on_resize(self) -> None:
        self.strips.clear()

    def render_line(self, y: int) -> Strip:
        width, height = self.content_size.width, self.content_size.height
        base = self.base_style
        pane = self.pane
        if pane is None:
            return Strip.blank(width, base)
        self.seen_total = pane.total
        lines = pane.lines
        if not lines:
            if y == 0:
                return self.strip("no output yet", width, self.style("empty"))
            return Strip.blank(width, base)
        first = max(0, len(lines) - height)
        index = first + y
        if index >= len(lines):
            return Strip.blank(width, base)
        number = pane.total - len(lines) + index
        strip = self.strips.get(number)
        if strip is None or strip.cell_length != width:
            if len(self.strips) > MAX_CACHED_STRIPS:
                self.strips.clear()
            plain = strip_escapes(lines[index])[: width + 8]
            kind = line_kind(plain)
            strip = self.strip(plain, width, self.style(kind) if kind else Style())
            self.strips[number] = strip
        return strip

    def strip(self, plain: str, width: int, style: Style) -> Strip:
        text = Text(plain, no_wrap=True, end="")
        text.stylize(self.base_style + style)
        return Strip(text.render(self.app.console), text.cell_len).crop_extend(
            0, width, self.base_style
        )

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"agent-tile--{name}", partial=True, default=Style())

    def newest_line(self) -> str:
        """The last line of the buffer, as drawn (tests, the benchmark)."""
        pane = self.pane
        return strip_escapes(pane.lines[-1]) if pane is not None and pane.lines else ""
