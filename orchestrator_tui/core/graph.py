"""The task DAG: validation, waves, critical path and the ready set (file overlap: overlap.py).

Every function takes tasks in plan order and runs in time linear in tasks plus
dependencies (overlap detection adds a term for glob patterns), so plans of 100,000 tasks
are checked in well under a second or two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # graph functions take anything with the fields of a Task
    from .models import Task


class GraphProblem(NamedTuple):
    """A dependency problem of one task."""

    task_id: str
    message: str
    hint: str = ""
    unknown: str = ""  # the unknown dependency, for an unknown-dependency problem


# How many (unknown ID, task ID) pairs the "did you mean" search may compare: 10,000
# unknown dependencies in a plan of 10,000 tasks must not take minutes.
SUGGESTION_BUDGET = 50_000


def close_matches(word: str, possibilities: list[str], n: int, cutoff: float) -> list[str]:
    from difflib import get_close_matches  # only for a problem: not at start-up

    return get_close_matches(word, possibilities, n=n, cutoff=cutoff)


def check_graph(
    tasks: Sequence[Task], max_cycles: int = 10, suggest: bool = True
) -> list[GraphProblem]:
    """Every unknown dependency, self-dependency and (up to `max_cycles`) cycle.

    `suggest`: look for a close ID ("did you mean") for each unknown dependency.
    """
    ids = {task.id for task in tasks}
    problems: list[GraphProblem] = []
    sorted_ids: list[str] | None = None
    longest = 0
    suggestions: dict[str, list[str]] = {}
    for task in tasks:
        for dep in task.depends:
            if dep == task.id:
                problems.append(
                    GraphProblem(task.id, f"{task.id} depends on itself", "remove it from depends")
                )
            elif dep not in ids:
                if not suggest:
                    message = f"{task.id} depends on unknown task {dep!r}"
                    problems.append(GraphProblem(task.id, message, "no task has that ID", dep))
                    continue
                if sorted_ids is None:
                    sorted_ids = sorted(ids)
                    longest = max(map(len, sorted_ids), default=0)
                if dep not in suggestions:
                    # A ratio of 0.6 needs the lengths within 3:7 of each other.
                    possible = 3 * len(dep) <= 7 * longest
                    within_budget = len(suggestions) * len(sorted_ids) < SUGGESTION_BUDGET
                    suggestions[dep] = (
                        close_matches(dep, sorted_ids, n=2, cutoff=0.6)
                        if possible and within_budget
                        else []
                    )
                close = [c for c in suggestions[dep] if c != task.id]
                hint = f"did you mean {close[0]}?" if close else "no task has that ID"
                problems.append(
                    GraphProblem(task.id, f"{task.id} depends on unknown task {dep!r}", hint, dep)
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
    # Tasks that a topological sort can place are on no cycle, nor is anything they
    # depend on: mark them finished, and search only the rest (usually nothing).
    positions = dependency_positions(tasks)
    if any(i in deps for i, deps in enumerate(positions) if deps):  # self-dependencies
        placed = kahn_order([[p for p in deps if p != i] for i, deps in enumerate(positions)])
    else:
        placed = kahn_order(positions)
        if _memo[0] is tasks and _memo[1] is positions:
            remember(tasks, positions, placed)
    if len(placed) == len(tasks):
        return []
    graph = {task.id: [d for d in task.depends if d != task.id] for task in tasks}
    state: dict[str, int] = {}  # 1 = on the DFS stack, 2 = finished
    for position in placed:
        state[tasks[position].id] = 2
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


# The last plan's dependency positions and order. Plans are tuples of immutable tasks, so
# the same tuple always has the same answer: `plan check` and the scheduler ask for them
# four or five times (validation, waves, critical path, overlap) and compute them once.
# The lists returned are shared: callers must not change them.
_memo: tuple[object, list[list[int]], list[int] | None] = ((), [], [])


def dependency_positions(tasks: Sequence[Task]) -> list[list[int]]:
    """For each task, the plan positions of its known dependencies (each once, in order).

    The graph functions work on these lists of integers rather than on IDs: it is the
    difference between a fast and a slow plan of 100,000 tasks.
    """
    memo = _memo
    if memo[0] is tasks:
        return memo[1]
    position = {task.id: index for index, task in enumerate(tasks)}
    found = position.get
    result = []
    for task in tasks:
        deps = task.depends
        if not deps:
            result.append([])
            continue
        if len(deps) > 1:
            deps = dict.fromkeys(deps)  # type: ignore[assignment]
        result.append([p for p in map(found, deps) if p is not None])
    remember(tasks, result, None)
    return result


def remember(tasks: Sequence[Task], positions: list[list[int]], order: list[int] | None) -> None:
    global _memo
    if isinstance(tasks, tuple):  # a list could change under us
        _memo = (tasks, positions, order)


def kahn_order(depends: list[list[int]]) -> list[int]:
    """Positions with every dependency first, plan order among equals (Kahn's algorithm);
    shorter than `depends` when there is a cycle."""
    pending = [len(deps) for deps in depends]
    children: list[list[int]] = [[] for _ in depends]
    for index, deps in enumerate(depends):
        for dep in deps:
            children[dep].append(index)
    order = [index for index, count in enumerate(pending) if not count]
    for index in order:  # the list grows as tasks become ready: a FIFO queue
        for child in children[index]:
            pending[child] -= 1
            if not pending[child]:
                order.append(child)
    return order


def topological_positions(tasks: Sequence[Task], depends: list[list[int]]) -> list[int]:
    memo = _memo
    if memo[0] is tasks and memo[1] is depends and memo[2] is not None:
        order = memo[2]
    else:
        order = kahn_order(depends)
        if memo[0] is tasks and memo[1] is depends:
            remember(tasks, depends, order)
    if len(order) != len(tasks):
        raise ValueError("the task graph has a cycle")
    return order


def topological_order(tasks: Sequence[Task]) -> list[str]:
    """Task IDs with every dependency before its dependents (plan order among equals).

    Raises ValueError when the graph has a cycle; unknown dependencies are ignored.
    """
    order = topological_positions(tasks, dependency_positions(tasks))
    return [tasks[index].id for index in order]


def waves(tasks: Sequence[Task]) -> list[list[str]]:
    """Tasks grouped by depth: wave 0 has no dependencies, wave k depends on wave < k."""
    depends = dependency_positions(tasks)
    depth = [0] * len(tasks)
    for index in topological_positions(tasks, depends):
        deps = depends[index]
        if deps:
            depth[index] = max([depth[dep] for dep in deps]) + 1
    grouped: list[list[str]] = [[] for _ in range(max(depth, default=-1) + 1)]
    for task, level in zip(tasks, depth, strict=True):
        grouped[level].append(task.id)
    return grouped


def weight(task: Task) -> float:
    """A task's expected duration for path lengths: its estimate, else one unit."""
    return task.estimate if task.estimate else 1.0


def remaining_path(tasks: Sequence[Task]) -> dict[str, float]:
    """For each task, the longest weighted path from its start to the end of the plan."""
    depends = dependency_positions(tasks)
    children: list[list[int]] = [[] for _ in tasks]
    for index, deps in enumerate(depends):
        for dep in deps:
            children[dep].append(index)
    values = [0.0] * len(tasks)
    tail: dict[str, float] = {}
    for index in reversed(topological_positions(tasks, depends)):
        rest = max([values[child] for child in children[index]], default=0.0)
        values[index] = weight(tasks[index]) + rest
        tail[tasks[index].id] = values[index]
    return tail


def critical_path(tasks: Sequence[Task]) -> list[str]:
    """The longest chain of dependent tasks, weighted by estimate (or one unit each)."""
    if not tasks:
        return []
    depends = dependency_positions(tasks)
    order = topological_positions(tasks, depends)
    length = [0.0] * len(tasks)
    previous = [-1] * len(tasks)
    for index in order:
        best = -1
        for dep in depends[index]:  # the first of the longest, in `depends` order
            if best < 0 or length[dep] > length[best]:
                best = dep
        previous[index] = best
        length[index] = weight(tasks[index]) + (length[best] if best >= 0 else 0.0)
    end = max(order, key=length.__getitem__)  # the first of the longest, in that order
    path: list[str] = []
    while end >= 0:
        path.append(tasks[end].id)
        end = previous[end]
    return path[::-1]


def ready_tasks(tasks: Sequence[Task], resolved: set[str] | frozenset[str]) -> list[str]:
    """Tasks not yet resolved whose dependencies are all resolved, in plan order."""
    return [t.id for t in tasks if t.id not in resolved and all(d in resolved for d in t.depends)]
