"""A plan edited mid-run, folded into the running plan: a pure rule."""

from __future__ import annotations

from dataclasses import dataclass, field

from .graph import check_graph
from .models import Plan, TaskStatus
from .state import RunState


@dataclass(frozen=True)
class MergedPlan:
    plan: Plan
    diff: dict[str, tuple[str, ...]] = field(default_factory=dict)
    error: str = ""


def merge_plan_edit(current: Plan, edited: Plan, state: RunState) -> MergedPlan:
    """The plan that runs after an edit: finished tasks keep what they ran with, tasks that
    have not finished take the edit (a running one on its next attempt), and tasks removed
    from the file are dropped only if they never started."""
    old = current.by_id
    started = {
        task_id for task_id, task in state.tasks.items() if task.status != TaskStatus.PENDING
    }
    finished = {task_id for task_id, task in state.tasks.items() if task.status.resolved}
    tasks = [old[t.id] if t.id in finished and t.id in old else t for t in edited.tasks]
    kept = [t for t in current.tasks if t.id not in edited.by_id and t.id in started]
    # A new Plan, not model_copy: that would carry over the cached `by_id` of `edited`.
    merged = Plan(
        title=edited.title, goal=edited.goal, tasks=tuple(tasks + kept), source=edited.source
    )
    diff = {
        "added": tuple(t.id for t in edited.tasks if t.id not in old),
        "removed": tuple(t.id for t in current.tasks if t.id not in edited.by_id),
        "changed": tuple(t.id for t in edited.tasks if t.id in old and not old[t.id].same_as(t)),
    }
    problems = check_graph(merged.tasks)
    if problems:
        return MergedPlan(current, diff, f"{problems[0].message} ({problems[0].hint})")
    return MergedPlan(merged, diff)
