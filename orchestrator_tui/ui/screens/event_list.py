"""Every event of a past run, one line each, to jump to one (`l` on the past-run screen).

"When did T4 fail?": the timeline's keys step and jump between milestones; this list
shows the whole log at once — when (time into the run), what happened — with the
cursor on the event the timeline stands at. Enter goes there; esc stays where it was.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...core.timeline import Timeline, is_milestone, what_happened
from ..view import fmt_duration


def event_line(timeline: Timeline, position: int, started: float) -> str:
    """`  42  +1m12s  T3 done` (◆ before a milestone)."""
    event = timeline.event_at(position)
    if event is None:
        return "   0  +0s     before the first event"
    offset = fmt_duration(max(0.0, event.at - started)) if started and event.at else "—"
    mark = "◆" if is_milestone(event) else " "
    return f"{mark}{position:>4}  +{offset:<7} {what_happened(event)}"


class EventListScreen(ModalScreen[int | None]):
    CSS_PATH = "event_list.tcss"
    BINDINGS = [Binding("escape,q,l", "close", "Back")]

    def __init__(self, timeline: Timeline, position: int) -> None:
        super().__init__()
        self.timeline = timeline
        self.position = position

    def compose(self) -> ComposeResult:
        started = self.timeline.time_at(1)
        options = [
            Option(event_line(self.timeline, n, started), id=str(n))
            for n in range(self.timeline.end + 1)
        ]
        with Vertical(id="dialog"):
            yield Static(
                f"Events of the run ({self.timeline.end}) · ◆ a milestone · "
                "enter goes there · esc back",
                id="title",
                markup=False,
            )
            yield OptionList(*options, id="events")

    def on_mount(self) -> None:
        events = self.query_one(OptionList)
        events.highlighted = self.position
        events.focus()

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        message.stop()
        self.dismiss(int(message.option.id or 0))

    def action_close(self) -> None:
        self.dismiss(None)
