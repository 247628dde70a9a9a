"""What the views show, computed without Textual: formats, icons and the DAG layout.

Kept apart from the widgets so that the table, the board, the header and the approval
modal agree on how a duration, a token count or a status looks, and so that it is
testable without an app.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..core.graph import critical_path, waves
from ..core.models import StageStatus, Task, TaskStatus
from ..core.overlap import overlap_groups
from ..core.state import RunState, TaskState

STAGE_ICONS: dict[StageStatus, str] = {
    StageStatus.PENDING: "○",
    StageStatus.RUNNING: "▶",
    StageStatus.AWAITING_APPROVAL: "◆",
    StageStatus.APPROVED: "✓",
    StageStatus.DONE: "✓",
    StageStatus.REJECTED: "↺",
    StageStatus.FAILED: "✗",
    StageStatus.SKIPPED: "»",
}

TASK_ICONS: dict[TaskStatus, str] = {
    TaskStatus.PENDING: "○",
    TaskStatus.READY: "◌",
    TaskStatus.RUNNING: "▶",
    TaskStatus.DONE: "✓",
    TaskStatus.FAILED: "✗",
    TaskStatus.BLOCKED: "⊘",
    TaskStatus.CONFLICT: "≠",
    TaskStatus.SKIPPED: "»",
    TaskStatus.TAKEN_OVER: "✎",
}


def fmt_duration(seconds: float) -> str:
    """0.4s, 12s, 1m05s, 2h03m: short enough for a table cell."""
    if seconds <= 0:
        return "0s"
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def fmt_tokens(count: int) -> str:
    if count < 100_000:
        return f"{count:,}"
    if count < 10_000_000:
        return f"{count / 1000:,.0f}k"
    return f"{count / 1_000_000:,.1f}M"


def fmt_cost(usd: float) -> str:
    if usd == 0:
        return "$0"
    if usd < 1:
        return f"${usd:.4f}"
    return f"${usd:,.2f}"


def shorten(text: str, width: int) -> str:
    """One line of at most `width` characters, with an ellipsis when cut."""
    line = " ".join(text.split())
    if width <= 0:
        return ""
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def task_elapsed(task: TaskState, now: float) -> float:
    """How long the task has run (so far, when it is running)."""
    if not task.started_at:
        return 0.0
    if task.status == TaskStatus.RUNNING:
        return max(0.0, now - task.started_at)
    end = task.finished_at or task.started_at
    return max(0.0, end - task.started_at)


def stage_elapsed(
    state: RunState, stage_status: StageStatus, started: float, finished: float, now: float
) -> float:
    if not started:
        return 0.0
    if stage_status == StageStatus.RUNNING and not state.finished:
        return max(0.0, now - started)
    return max(0.0, (finished or started) - started)


@dataclass(frozen=True)
class DagLayout:
    """Tasks in the order the DAG pane lists them: by wave, then plan order; the critical
    path; the overlap groups (tasks that may touch the same files), numbered from 1."""

    order: tuple[str, ...] = ()
    wave_of: dict[str, int] = field(default_factory=dict)
    critical: frozenset[str] = frozenset()
    wave_count: int = 0
    group_of: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_waves(
        cls,
        task_ids: Iterable[str],
        wave_list: Sequence[Sequence[str]],
        path: Iterable[str],
        overlaps: Sequence[Sequence[str]] = (),
    ) -> DagLayout:
        known = list(dict.fromkeys(task_ids))
        wave_of = {tid: n for n, wave in enumerate(wave_list) for tid in wave}
        position = {tid: i for i, tid in enumerate(known)}
        # Tasks outside every wave (added by a reload, or stage agents) come last.
        order = sorted(known, key=lambda t: (wave_of.get(t, len(wave_list)), position[t]))
        group_of = {tid: n for n, group in enumerate(overlaps, 1) for tid in group}
        return cls(tuple(order), wave_of, frozenset(path), len(wave_list), group_of)

    @classmethod
    def from_tasks(cls, tasks: Sequence[Task], extra_ids: Iterable[str] = ()) -> DagLayout:
        """Waves and critical path computed here (a reloaded or previewed plan)."""
        ids = [t.id for t in tasks]
        try:
            wave_list = waves(tasks)
            path = critical_path(tasks)
            groups = overlap_groups(tasks)
        except (KeyError, ValueError, RecursionError):  # a graph the engine would refuse
            wave_list, path, groups = [], [], []
        return cls.from_waves([*ids, *extra_ids], wave_list, path, groups)


def alerts_for(state: RunState, preview_error: str, engine_failure: str) -> tuple[str, ...]:
    """What the banner over the panes says: a bad PLAN.md, an engine that stopped."""
    alerts = []
    if state.plan_error:
        alerts.append(f"PLAN.md is invalid, the last good plan stays: {state.plan_error}")
    elif preview_error and not state.tasks:
        alerts.append(f"PLAN.md is invalid: {preview_error}")
    if engine_failure:
        alerts.append(engine_failure)
    return tuple(alerts)


def running_tasks(state: RunState) -> list[str]:
    return [tid for tid, task in state.tasks.items() if task.status == TaskStatus.RUNNING]
