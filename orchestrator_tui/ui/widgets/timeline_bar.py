"""The timeline's scrubber: where in the run's event log the past-run screen stands.

Two rows: a track across the width (filled up to the position, ┼ at each milestone, ● at
the position) and a line saying which event that is, when, how long into the run, and
what happened. A click on the track moves there (`TimelineBar.Moved`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from ..view import fmt_duration

TRACK = {"cursor": "●", "milestone": "┼", "past": "━", "future": "─"}


@dataclass(frozen=True)
class Moment:
    """A position on the timeline and what it shows."""

    position: int = 0
    end: int = 0
    milestones: tuple[int, ...] = ()
    at: float = 0.0  # when the event happened (epoch seconds)
    since_start: float = 0.0
    what: str = ""


def track_column(position: int, end: int, width: int) -> int:
    """The column of `position` on a track `width` cells wide."""
    if end <= 0 or width <= 1:
        return 0
    return round(position * (width - 1) / end)


def position_of_column(column: int, end: int, width: int) -> int:
    if width <= 1:
        return end
    return max(0, min(end, round(column * end / (width - 1))))


class TimelineBar(Widget):
    COMPONENT_CLASSES = {
        "timeline-bar--past",
        "timeline-bar--future",
        "timeline-bar--milestone",
        "timeline-bar--cursor",
        "timeline-bar--dim",
    }

    moment: reactive[Moment] = reactive(Moment)

    class Moved(Message):
        """A click on the track: go to `position`."""

        def __init__(self, position: int) -> None:
            super().__init__()
            self.position = position

    def render(self) -> Text:
        moment, width = self.moment, max(1, self.size.width)
        cursor = track_column(moment.position, moment.end, width)
        marks = {track_column(m, moment.end, width) for m in moment.milestones}
        kinds = []
        for column in range(width):
            if column == cursor:
                kinds.append("cursor")
            elif column in marks:
                kinds.append("milestone")
            else:
                kinds.append("past" if column < cursor else "future")
        styles = {kind: self.style(kind) for kind in set(kinds)}
        track = Text(no_wrap=True, overflow="crop")
        start = 0
        for column in range(1, width + 1):  # one span per run of the same kind
            if column == width or kinds[column] != kinds[start]:
                kind = kinds[start]
                track.append(TRACK[kind] * (column - start), style=styles[kind])
                start = column
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f" event {moment.position}/{moment.end}", style="bold")
        if moment.at:
            clock = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment.at))
            line.append(
                f" · {clock} · +{fmt_duration(moment.since_start)}", style=self.style("dim")
            )
        if moment.what:
            line.append(f" · {moment.what}")
        return Text("\n").join([track, line])

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y != 0:
            return
        moment = self.moment
        self.post_message(
            TimelineBar.Moved(position_of_column(offset.x, moment.end, self.size.width))
        )

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"timeline-bar--{name}", partial=True, default=Style())
