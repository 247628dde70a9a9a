"""The task DAG: validation, waves, critical path, ready set and file-overlap groups.

Every function takes tasks in plan order and runs in time linear in tasks plus
dependencies (overlap detection adds a term for glob patterns), so plans of 100,000 tasks
are checked in well under a second or two.
"""

from __future__ import annotations

import difflib
import fnmatch
import posixpath
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .models import Task

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class GraphProblem:
    """A dependency problem of one task."""

    task_id: str
    message: str
    hint: str = ""


def check_graph(tasks: Sequence[Task], max_cycles: int = 10) -> list[GraphProblem]:
    """Every unknown dependency, self-dependency and (up to `max_cycles`) cycle."""
    ids = {task.id for task in tasks}
    problems: list[GraphProblem] = []
    sorted_ids: list[str] | None = None
    for task in tasks:
        for dep in task.depends:
            if dep == task.id:
                problems.append(
                    GraphProblem(task.id, f"{task.id} depends on itself", "remove it from depends")
                )
            elif dep not in ids:
                if sorted_ids is None:
                    sorted_ids = sorted(ids)
                close = difflib.get_close_matches(dep, sorted_ids, n=1, cutoff=0.6)
                hint = f"did you mean {close[0]}?" if close else "no task has that ID"
                problems.append(
                    GraphProblem(task.id, f"{task.id} depends on unknown task {dep!r}", hint)
                )
    for cycle in find_cycles(tasks, max_cycles):
        path = " → ".join([*cycle, cycle[0]])
        problems.append(
            GraphProblem(
                cycle[0], f"dependency cycle: {path}", "break it by removing one dependency"
            )
        )
    return problems


def find_cycles(tasks: Sequence[Task], limit: int = 10) -> list[list[str]]:
    """Distinct cycles (each as the list of its task IDs), found by iterative DFS."""
    graph = {task.id: [d for d in task.depends if d != task.id] for task in tasks}
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = finished
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for root in graph:
        if root in state:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(graph[root]))]
        path = [root]
        index = {root: 0}
        state[root] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                if child not in graph:
                    continue
                if state.get(child) == 1:
                    cycle = path[index[child] :]
                    key = frozenset(cycle)
                    if key not in seen and len(cycles) < limit:
                        seen.add(key)
                        cycles.append(cycle)
                elif child not in state:
                    state[child] = 1
                    index[child] = len(path)
                    path.append(child)
                    stack.append((child, iter(graph[child])))
                    break
            else:
                stack.pop()
                path.pop()
                del index[node]
                state[node] = 2
    return cycles


def topological_order(tasks: Sequence[Task]) -> list[str]:
    """Task IDs with every dependency before its dependents (plan order among equals).

    Raises ValueError when the graph has a cycle; unknown dependencies are ignored.
    """
    ids = {task.id for task in tasks}
    pending = {task.id: sum(1 for d in set(task.depends) if d in ids) for task in tasks}
    children: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        for dep in set(task.depends):
            if dep in ids:
                children[dep].append(task.id)
    queue = deque(task.id for task in tasks if pending[task.id] == 0)
    order: list[str] = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for child in children[node]:
            pending[child] -= 1
            if pending[child] == 0:
                queue.append(child)
    if len(order) != len(tasks):
        raise ValueError("the task graph has a cycle")
    return order


def waves(tasks: Sequence[Task]) -> list[list[str]]:
    """Tasks grouped by depth: wave 0 has no dependencies, wave k depends on wave < k."""
    by_id = {task.id: task for task in tasks}
    depth: dict[str, int] = {}
    for node in topological_order(tasks):
        deps = [depth[d] for d in by_id[node].depends if d in depth]
        depth[node] = max(deps) + 1 if deps else 0
    grouped: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for task in tasks:
        grouped[depth[task.id]].append(task.id)
    return grouped


def weight(task: Task) -> float:
    """A task's expected duration for path lengths: its estimate, else one unit."""
    return task.estimate if task.estimate else 1.0


def remaining_path(tasks: Sequence[Task]) -> dict[str, float]:
    """For each task, the longest weighted path from its start to the end of the plan."""
    by_id = {task.id: task for task in tasks}
    children: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        for dep in set(task.depends):
            if dep in by_id:
                children[dep].append(task.id)
    tail: dict[str, float] = {}
    for node in reversed(topological_order(tasks)):
        rest = max((tail[c] for c in children[node]), default=0.0)
        tail[node] = weight(by_id[node]) + rest
    return tail


def critical_path(tasks: Sequence[Task]) -> list[str]:
    """The longest chain of dependent tasks, weighted by estimate (or one unit each)."""
    if not tasks:
        return []
    by_id = {task.id: task for task in tasks}
    length: dict[str, float] = {}
    previous: dict[str, str | None] = {}
    for node in topological_order(tasks):
        best: str | None = None
        for dep in by_id[node].depends:
            if dep in length and (best is None or length[dep] > length[best]):
                best = dep
        previous[node] = best
        length[node] = weight(by_id[node]) + (length[best] if best else 0.0)
    end: str | None = max(length, key=length.__getitem__)
    path: list[str] = []
    while end is not None:
        path.append(end)
        end = previous[end]
    return path[::-1]


def ready_tasks(tasks: Sequence[Task], resolved: set[str] | frozenset[str]) -> list[str]:
    """Tasks not yet resolved whose dependencies are all resolved, in plan order."""
    return [t.id for t in tasks if t.id not in resolved and all(d in resolved for d in t.depends)]


def normalize_path(path: str) -> str:
    """A declared file in one spelling: forward slashes, no './', a directory as 'dir/**'."""
    path = path.strip().replace("\\", "/")
    is_dir = path.endswith("/")
    path = posixpath.normpath(path) if path else path
    if path in (".", ""):
        return "**"
    return f"{path}/**" if is_dir else path


def literal_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    for i, char in enumerate(pattern):
        if char in GLOB_CHARS:
            return pattern[:i]
    return pattern


def patterns_may_meet(a: str, b: str) -> bool:
    """Whether two declared paths (each a path or a glob) may name the same file."""
    a_glob, b_glob = bool(GLOB_CHARS & set(a)), bool(GLOB_CHARS & set(b))
    if not a_glob and not b_glob:
        return a == b
    if a_glob and b_glob:
        pa, pb = literal_prefix(a), literal_prefix(b)
        return pa.startswith(pb) or pb.startswith(pa)
    pattern, path = (a, b) if a_glob else (b, a)
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.rstrip("*/"))


def overlap_conflicts(tasks: Sequence[Task]) -> dict[str, set[str]]:
    """For each task, the tasks it must not run beside: they may touch the same file and
    neither depends (directly or through others) on the other."""
    files_of = {t.id: {normalize_path(f) for f in t.files if f.strip()} for t in tasks}
    by_literal: dict[str, list[str]] = defaultdict(list)
    globs: list[tuple[str, str]] = []
    for task_id, files in files_of.items():
        for path in files:
            if GLOB_CHARS & set(path):
                globs.append((task_id, path))
            else:
                by_literal[path].append(task_id)
    pairs: set[tuple[str, str]] = set()
    for owners in by_literal.values():
        for i, a in enumerate(owners):
            for b in owners[i + 1 :]:
                pairs.add((a, b) if a < b else (b, a))
    for i, (task_id, pattern) in enumerate(globs):
        for path, owners in by_literal.items():
            if patterns_may_meet(pattern, path):
                pairs.update((min(task_id, o), max(task_id, o)) for o in owners if o != task_id)
        for other_id, other in globs[i + 1 :]:
            if other_id != task_id and patterns_may_meet(pattern, other):
                pairs.add((min(task_id, other_id), max(task_id, other_id)))
    conflicts: dict[str, set[str]] = defaultdict(set)
    if not pairs:
        return conflicts
    ordered = Ancestry(tasks)
    for a, b in pairs:
        if not ordered.related(a, b):
            conflicts[a].add(b)
            conflicts[b].add(a)
    return conflicts


def overlap_groups(tasks: Sequence[Task]) -> list[list[str]]:
    """Groups of tasks (connected by possible file overlap) that will not run side by side."""
    conflicts = overlap_conflicts(tasks)
    order = {t.id: i for i, t in enumerate(tasks)}
    seen: set[str] = set()
    groups: list[list[str]] = []
    for task in tasks:
        if task.id in seen or task.id not in conflicts:
            continue
        group, queue = [], [task.id]
        seen.add(task.id)
        while queue:
            node = queue.pop()
            group.append(node)
            for other in conflicts[node]:
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        groups.append(sorted(group, key=order.__getitem__))
    return groups


class Ancestry:
    """Answers 'does one of these two tasks depend on the other?' by pruned search."""

    def __init__(self, tasks: Sequence[Task]) -> None:
        self.depends: Mapping[str, tuple[str, ...]] = {t.id: t.depends for t in tasks}
        self.depth: dict[str, int] = {}
        for number, wave in enumerate(waves(tasks)):
            for task_id in wave:
                self.depth[task_id] = number

    def related(self, a: str, b: str) -> bool:
        if self.depth[a] == self.depth[b]:
            return False
        low, high = (a, b) if self.depth[a] < self.depth[b] else (b, a)
        floor = self.depth[low]
        stack, seen = [high], {high}
        while stack:
            for dep in self.depends.get(stack.pop(), ()):
                if dep == low:
                    return True
                if dep not in seen and self.depth.get(dep, -1) > floor:
                    seen.add(dep)
                    stack.append(dep)
        return False


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
