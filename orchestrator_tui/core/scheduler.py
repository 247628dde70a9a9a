"""Which tasks start next: ready tasks, critical path first, never two that may touch the
same file at once, never more than the concurrency cap."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from .graph import critical_path, remaining_path, waves
from .models import Task, TaskStatus
from .overlap import overlap_conflicts, overlap_groups

RESOLVED = frozenset({TaskStatus.DONE, TaskStatus.SKIPPED})
WAITING = frozenset({TaskStatus.PENDING, TaskStatus.READY})


class Scheduler:
    """Orders ready tasks by (longest remaining path, priority, plan order)."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = {task.id: task for task in tasks}
        self.depends = [(task.id, task.depends) for task in tasks]
        self.order = {task.id: i for i, task in enumerate(tasks)}
        self.remaining = remaining_path(tasks)
        self.conflicts = overlap_conflicts(tasks)
        self.dependents: dict[str, list[str]] = {task.id: [] for task in tasks}
        for task in tasks:
            for dep in task.depends:
                if dep in self.dependents:
                    self.dependents[dep].append(task.id)

    def ready(self, status: Mapping[str, TaskStatus]) -> list[str]:
        """Pending tasks whose dependencies are all resolved, most urgent first."""
        resolved = {task_id for task_id, s in status.items() if s in RESOLVED}
        ready = [
            task_id
            for task_id, depends in self.depends
            if task_id not in resolved
            and status.get(task_id, TaskStatus.PENDING) in WAITING
            and resolved.issuperset(depends)
        ]
        return sorted(ready, key=self.urgency)

    def urgency(self, task_id: str) -> tuple[float, int, int]:
        return (-self.remaining[task_id], -self.tasks[task_id].priority, self.order[task_id])

    def pick(
        self,
        status: Mapping[str, TaskStatus],
        running: Collection[str],
        capacity: int,
        waiting: Collection[str] = (),
    ) -> list[str]:
        """Tasks to start now: at most `capacity`, none overlapping a running or chosen one,
        none still `waiting` (out a backoff: not done, so its dependents wait too)."""
        chosen: list[str] = []
        busy = set(running)
        for task_id in self.ready(status):
            if len(chosen) >= capacity:
                break
            if task_id in waiting or task_id in busy or self.conflicts.get(task_id, set()) & busy:
                continue
            chosen.append(task_id)
            busy.add(task_id)
        return chosen

    def downstream(self, task_id: str) -> Downstream:
        """Every task that depends on `task_id`, directly or through others, in plan order;
        walked only when read (a task that succeeds blocks nothing: most are never read)."""
        return Downstream(self, task_id)

    def walk_downstream(self, task_id: str) -> list[str]:
        seen: set[str] = set()
        stack = [task_id]
        while stack:
            for child in self.dependents.get(stack.pop(), []):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return sorted(seen, key=self.order.__getitem__)


class Downstream(Sequence[str]):
    """Scheduler.downstream's answer, computed on first use."""

    def __init__(self, scheduler: Scheduler, task_id: str) -> None:
        self.scheduler, self.task_id = scheduler, task_id

    @cached_property
    def tasks(self) -> list[str]:
        return self.scheduler.walk_downstream(self.task_id)

    def __getitem__(self, index: int) -> str:  # type: ignore[override]
        return self.tasks[index]

    def __len__(self) -> int:
        return len(self.tasks)

    def __repr__(self) -> str:
        return f"Downstream({self.task_id!r}: {self.tasks!r})"


@dataclass(frozen=True)
class Schedule:
    """What the parallel stage shows: how the plan will run."""

    waves: list[list[str]]
    critical_path: list[str]
    overlaps: list[list[str]]

    @property
    def first(self) -> list[str]:
        return self.waves[0] if self.waves else []


def schedule(tasks: Sequence[Task]) -> Schedule:
    return Schedule(waves(tasks), critical_path(tasks), overlap_groups(tasks))
