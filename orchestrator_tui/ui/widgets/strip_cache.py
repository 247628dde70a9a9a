"""A scroll view that draws line by line from a cache of strips, for the log and task panes."""

from __future__ import annotations

from typing import Any

from rich.style import Style
from textual.scroll_view import ScrollView
from textual.strip import Strip


class StripCacheView(ScrollView):
    """Keeps drawn lines (`strips`, keyed by the subclass) and its own style, cached:
    computing the style walks the DOM, and once per line is too often under a flood."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cached_base_style: Style | None = None
        self.strips: dict[Any, Strip] = {}

    @property
    def base_style(self) -> Style:
        if self.cached_base_style is None:
            self.cached_base_style = self.rich_style
        return self.cached_base_style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.cached_base_style = None
        self.strips.clear()
