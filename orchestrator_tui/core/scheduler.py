"""Which tasks start next: ready tasks, critical path first, never two that may touch the
same file at once, never more than the concurrency cap.

Driven the graphlib way: `update` tells it the status of the tasks that changed (all of
them the first time), `pick` hands out what may start. It keeps, per task, how many of its
dependencies are unresolved and a heap of the tasks that are ready, so a turn costs what
changed in it, not the size of the plan.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from .graph import critical_path, remaining_path, waves
from .models import Task, TaskStatus
from .overlap import overlap_conflicts, overlap_groups

RESOLVED = frozenset({TaskStatus.DONE, TaskStatus.SKIPPED})
WAITING = frozenset({TaskStatus.PENDING, TaskStatus.READY})

Entry = tuple[float, int, int, str]  # the urgency, then the task


class Scheduler:
    """Orders ready tasks by (longest remaining path, priority, plan order)."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.tasks = {task.id: task for task in tasks}
        self.order = {task.id: i for i, task in enumerate(tasks)}
        self.remaining = remaining_path(tasks)
        self.conflicts = overlap_conflicts(tasks)
        self.dependents: dict[str, list[str]] = {task.id: [] for task in tasks}
        self.unmet = {task.id: len(set(task.depends)) for task in tasks}
        for task in tasks:
            for dep in set(task.depends):
                self.dependents.setdefault(dep, []).append(task.id)
        self.status: dict[str, TaskStatus] = {}
        self.ready_set: set[str] = set()  # waiting, every dependency resolved
        self.heap: list[Entry] = []  # holds an entry for every ready task (and stale ones)
        self.queued: set[str] = set()  # the tasks with an entry in the heap
        for task in tasks:
            self.refresh(task.id)

    def update(self, status: Mapping[str, TaskStatus]) -> None:
        """The status of the tasks in `status` is now this (others are as last told)."""
        for task_id, new in status.items():
            old = self.status.get(task_id)
            if old == new:
                continue
            self.status[task_id] = new
            if (old in RESOLVED) != (new in RESOLVED):
                step = -1 if new in RESOLVED else 1
                for child in self.dependents.get(task_id, ()):
                    self.unmet[child] += step
                    self.refresh(child)
            self.refresh(task_id)

    def refresh(self, task_id: str) -> None:
        if task_id not in self.tasks:
            return
        status = self.status.get(task_id, TaskStatus.PENDING)
        if status in WAITING and self.unmet[task_id] == 0:
            self.ready_set.add(task_id)
            if task_id not in self.queued:
                self.queued.add(task_id)
                heapq.heappush(self.heap, (*self.urgency(task_id), task_id))
        else:
            self.ready_set.discard(task_id)

    def ready(self) -> list[str]:
        """Pending tasks whose dependencies are all resolved, most urgent first."""
        return sorted(self.ready_set, key=self.urgency)

    def urgency(self, task_id: str) -> tuple[float, int, int]:
        return (-self.remaining[task_id], -self.tasks[task_id].priority, self.order[task_id])

    def pick(
        self,
        running: Collection[str],
        capacity: int,
        waiting: Collection[str] = (),
    ) -> list[str]:
        """Tasks to start now: at most `capacity`, none overlapping a running or chosen one,
        none still `waiting` (out a backoff: not done, so its dependents wait too)."""
        chosen: list[str] = []
        looked: list[Entry] = []  # back into the heap: ready until `update` says otherwise
        busy = set(running)
        while self.heap and len(chosen) < capacity:
            entry = heapq.heappop(self.heap)
            task_id = entry[-1]
            if task_id not in self.ready_set:
                self.queued.discard(task_id)  # stale: started, resolved or blocked since
                continue
            looked.append(entry)
            if task_id in waiting or task_id in busy or self.conflicts.get(task_id, set()) & busy:
                continue
            chosen.append(task_id)
            busy.add(task_id)
        for entry in looked:
            heapq.heappush(self.heap, entry)
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
