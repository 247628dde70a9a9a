"""How many tasks are in each state, and what the run has spent."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from ...core.models import TaskStatus
from ...core.state import RunState
from ...core.tally import status_label, tally
from ..formatting import short_cost, short_tokens

# The counting and the order are core/tally.py's (the same as `status`); the colours are ours.
STYLES: dict[TaskStatus, str] = {
    TaskStatus.RUNNING: "cyan",
    TaskStatus.TAKEN_OVER: "magenta",
    TaskStatus.DONE: "green",
    TaskStatus.PENDING: "dim",
    TaskStatus.FAILED: "bold red",
    TaskStatus.CONFLICT: "bold red",
    TaskStatus.BLOCKED: "red",
    TaskStatus.SKIPPED: "yellow",
}
SEPARATOR = " · "


def packed(head: Text, items: list[Text], width: int) -> Text:
    """`head` then the items joined by ' · ', broken into lines between items, never
    inside one (so "1 pending" stays together in a 30-column pane)."""
    text = head.copy()
    column = text.cell_len
    for number, item in enumerate(items):
        separator = SEPARATOR if number else " "
        if column and column + len(separator) + item.cell_len > width:
            text.append("\n")
            column, separator = 0, ""
        text.append(separator)
        text.append_text(item)
        column += len(separator) + item.cell_len
    return text


def counts_text(state: RunState, width: int) -> Text:
    head = Text()
    head.append(f"tasks {len(state.tasks)}:", style="bold")
    items = [
        Text(f"{count} {status_label(status)}", style=STYLES.get(status, ""))
        for status, count in tally(state)
    ]
    text = packed(head, items, width)
    tokens = state.input_tokens + state.output_tokens
    if tokens or state.cost_usd:
        text.append(f"\n{short_cost(state.cost_usd)} · {short_tokens(tokens)} tokens", style="dim")
    return text


class TaskCounts(Widget):
    """Hidden until the plan is frozen (no tasks before stage 3)."""

    DEFAULT_CSS = "TaskCounts { height: auto; }"

    state: reactive[RunState] = reactive(RunState, always_update=True, layout=True)

    def watch_state(self, state: RunState) -> None:
        self.display = bool(state.tasks)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(counts_text(self.state, width).plain.splitlines())

    def render(self) -> Text:
        return counts_text(self.state, self.content_size.width)
