"""The view of one agent's output: the lines of a bounded buffer, drawn only where seen.

A Line API widget over the pane's own buffer (no copy): adding lines costs nothing until
they scroll into sight, each visible line is cleaned (`strip_escapes`) and highlighted
when it is first drawn, and switching to another task's buffer of the same length is a
repaint, not a layout. Lines wider than the pane are cut (the detail screen shows the
full log). It follows the end until the user scrolls up, and again once they scroll
back to the end; while it follows, it draws the last lines whatever the scroll position
says (that catches up a frame later, after a layout).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip

from ..sanitize import line_kind, strip_escapes
from .strip_cache import StripCacheView

MAX_CACHED_STRIPS = 400


class LogView(StripCacheView, can_focus=True):
    COMPONENT_CLASSES = {"log-view--error", "log-view--tool"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: Sequence[str] = ()
        self.total = 0  # lines ever added to the buffer: numbers a line for the cache
        self.strips: dict[int, Strip] = {}
        self.following = True

    def show_lines(self, lines: Sequence[str], total: int) -> None:
        """Show another buffer, from its end."""
        self.lines, self.total = lines, total
        self.strips.clear()
        self.fit()
        self.following = True
        self.scroll_end(animate=False, x_axis=False)  # after the new size is laid out
        self.refresh()

    def lines_added(self, total: int) -> None:
        """The buffer shown got lines (and may have dropped old ones)."""
        self.total = total
        self.fit()
        if self.following:
            self.scroll_end(animate=False, x_axis=False)  # after the new size is laid out
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Only the user scrolls up (the view itself only ever scrolls to the end)."""
        super().watch_scroll_y(old_value, new_value)
        if new_value < old_value:
            self.following = False
        elif new_value >= self.max_scroll_y:
            self.following = True

    def first_line(self) -> int:
        if self.following:
            return max(0, len(self.lines) - self.scrollable_content_region.height)
        return self.scroll_offset.y

    def fit(self) -> None:
        size = Size(self.scrollable_content_region.width, len(self.lines))
        if size != self.virtual_size:  # a new size means a layout: only when it changes
            self.virtual_size = size

    def on_resize(self) -> None:
        self.strips.clear()
        self.fit()
        if self.following:
            self.scroll_end(animate=False, x_axis=False)

    def text_at(self, index: int) -> str:
        """The line at `index` of the buffer, as it is drawn (cleaned, not cut)."""
        return strip_escapes(self.lines[index])

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.base_style
        index = self.first_line() + y
        if index >= len(self.lines):
            return Strip.blank(width, base)
        number = self.total - len(self.lines) + index
        strip = self.strips.get(number)
        if strip is None or strip.cell_length != width:
            if len(self.strips) > MAX_CACHED_STRIPS:
                self.strips.clear()
            plain = self.text_at(index)[: width + 8]  # a character takes at least one cell
            kind = line_kind(plain)
            style = self.style(kind) if kind else Style()
            text = Text(plain, no_wrap=True, end="")
            text.stylize(base + style)  # a span: Text.render ignores Text.style
            strip = Strip(text.render(self.app.console), text.cell_len)
            strip = strip.crop_extend(0, width, base)
            self.strips[number] = strip
        return strip

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"log-view--{name}", partial=True, default=Style())
