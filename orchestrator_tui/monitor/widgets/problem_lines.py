"""Failed, conflicting and blocked tasks with their reasons, and a broken plan edit."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...core.models import TaskStatus
from ...core.state import RunState

MARKS = {
    TaskStatus.FAILED: ("✗", "bold red"),
    TaskStatus.CONFLICT: ("⇄", "bold red"),
    TaskStatus.BLOCKED: ("⊘", "red"),
}


def problem_text(state: RunState) -> Text:
    text = Text()
    lines = 0
    if state.plan_error:
        text.append("✗ PLAN.md: ", style="bold red")
        text.append(state.plan_error)
        lines += 1
    for task in state.tasks.values():
        if task.status not in MARKS:
            continue
        mark, style = MARKS[task.status]
        if lines:
            text.append("\n")
        text.append(f"{mark} {task.id}", style=style)
        reason = task.reason or task.status.value
        if task.exit_code not in (None, 0) and "exit" not in reason:
            reason += f" (exit {task.exit_code})"
        text.append(f": {reason}")
        lines += 1
    return text


class ProblemLines(Static):
    """Hidden while nothing is wrong."""

    def show(self, state: RunState) -> None:
        text = problem_text(state)
        self.display = bool(text.plain)
        self.update(text)
