"""How many tasks are in each state, and what the run has spent."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...core.models import TaskStatus
from ...core.state import RunState
from ..formatting import short_cost, short_tokens

ORDER: tuple[tuple[TaskStatus, str], ...] = (
    (TaskStatus.RUNNING, "yellow"),
    (TaskStatus.DONE, "green"),
    (TaskStatus.READY, ""),
    (TaskStatus.PENDING, "dim"),
    (TaskStatus.FAILED, "bold red"),
    (TaskStatus.CONFLICT, "bold red"),
    (TaskStatus.BLOCKED, "red"),
    (TaskStatus.SKIPPED, "yellow"),
)


def counts_text(state: RunState) -> Text:
    text = Text()
    text.append(f"tasks {len(state.tasks)}:", style="bold")
    parts = [(state.count(status), status.value, style) for status, style in ORDER]
    first = True
    for count, name, style in parts:
        if not count:
            continue
        text.append(" " if first else " · ")
        text.append(f"{count} {name}", style=style)
        first = False
    tokens = state.input_tokens + state.output_tokens
    if tokens or state.cost_usd:
        text.append(f"\n{short_cost(state.cost_usd)} · {short_tokens(tokens)} tokens", style="dim")
    return text


class TaskCounts(Static):
    """Hidden until the plan is frozen (no tasks before stage 3)."""

    def show(self, state: RunState) -> None:
        self.display = bool(state.tasks)
        if state.tasks:
            self.update(counts_text(state))
