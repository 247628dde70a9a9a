"""One line per running agent: task, elapsed, tokens and cost, its newest output line."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...core.models import TaskStatus
from ..follower import MonitorSnapshot
from ..formatting import short_cost, short_duration, short_tokens


def agent_text(snapshot: MonitorSnapshot, now: float) -> Text:
    running = sorted(
        (t for t in snapshot.state.tasks.values() if t.status == TaskStatus.RUNNING),
        key=lambda t: (t.started_at, t.id),
    )
    text = Text()
    for number, task in enumerate(running):
        if number:
            text.append("\n")
        text.append("● ", style="cyan")
        text.append(task.id, style="bold")
        text.append(f" {short_duration(now - task.started_at)}")
        if task.tokens or task.cost_usd:
            text.append(f" {short_tokens(task.tokens)} {short_cost(task.cost_usd)}", style="dim")
        line = snapshot.output_tail(task.id) or task.title
        text.append(f" {line}")
    return text


class AgentLines(Static):
    """Hidden while no agent runs; long lines end in an ellipsis (see monitor.tcss)."""

    def show(self, snapshot: MonitorSnapshot, now: float) -> None:
        text = agent_text(snapshot, now)
        self.display = bool(text.plain)
        self.update(text)
