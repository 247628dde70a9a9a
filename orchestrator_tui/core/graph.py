"""The task DAG: validation, waves, critical path, ready set and file-overlap groups.

Every function takes tasks in plan order and runs in time linear in tasks plus
dependencies (overlap detection adds a term for glob patterns), so plans of 100,000 tasks
are checked in well under a second or two.
"""

from __future__ import annotations

import bisect
import difflib
import fnmatch
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .models import Task

GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class GraphProblem:
    """A dependency problem of one task."""

    task_id: str
    message: str
    hint: str = ""


# How many (unknown ID, task ID) pairs the "did you mean" search may compare: 10,000
# unknown dependencies in a plan of 10,000 tasks must not take minutes.
SUGGESTION_BUDGET = 50_000


def check_graph(tasks: Sequence[Task], max_cycles: int = 10) -> list[GraphProblem]:
    """Every unknown dependency, self-dependency and (up to `max_cycles`) cycle."""
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
                if sorted_ids is None:
                    sorted_ids = sorted(ids)
                    longest = max(map(len, sorted_ids), default=0)
                if dep not in suggestions:
                    # A ratio of 0.6 needs the lengths within 3:7 of each other.
                    possible = 3 * len(dep) <= 7 * longest
                    within_budget = len(suggestions) * len(sorted_ids) < SUGGESTION_BUDGET
                    suggestions[dep] = (
                        difflib.get_close_matches(dep, sorted_ids, n=2, cutoff=0.6)
                        if possible and within_budget
                        else []
                    )
                close = [c for c in suggestions[dep] if c != task.id]
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
    # Tasks that a topological sort can place are on no cycle, nor is anything they
    # depend on: mark them finished, and search only the rest (usually nothing).
    positions = dependency_positions(tasks)
    placed = kahn_order([[p for p in deps if p != i] for i, deps in enumerate(positions)])
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


def dependency_positions(tasks: Sequence[Task]) -> list[list[int]]:
    """For each task, the plan positions of its known dependencies (each once, in order).

    The graph functions work on these lists of integers rather than on IDs: it is the
    difference between a fast and a slow plan of 100,000 tasks.
    """
    position = {task.id: index for index, task in enumerate(tasks)}
    found = position.get
    result = []
    for task in tasks:
        deps = task.depends
        if len(deps) > 1:
            deps = dict.fromkeys(deps)  # type: ignore[assignment]
        result.append([p for p in map(found, deps) if p is not None])
    return result


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
    order = kahn_order(depends)
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


def normalize_path(path: str) -> str:
    """A declared file in one spelling: forward slashes, no './', a directory as 'dir/**'."""
    path = path.strip()
    if path and not (
        path.startswith(".") or path.endswith("/") or "/." in path or "//" in path or "\\" in path
    ):
        return path  # already in normal form: nothing for normpath to do
    path = path.replace("\\", "/")
    is_dir = path.endswith("/")
    path = posixpath.normpath(path) if path else path
    if path in (".", ""):
        return "**"
    return f"{path}/**" if is_dir else path


def is_glob(path: str) -> bool:
    return not GLOB_CHARS.isdisjoint(path)


def literal_prefix(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    for i, char in enumerate(pattern):
        if char in GLOB_CHARS:
            return pattern[:i]
    return pattern


def parent_dirs(path: str) -> list[str]:
    """'a/b/c' → ['a', 'a/b']: the directories a path lies in."""
    dirs = []
    slash = path.find("/", 1)
    while slash > 0:
        dirs.append(path[:slash])
        slash = path.find("/", slash + 1)
    return dirs


def patterns_may_meet(a: str, b: str) -> bool:
    """Whether two declared paths (each a path or a glob) may name the same file.

    A declared path with another declared path (or a glob's fixed part) inside it is a
    directory: `src/api` meets `src/api/users.py` and `src/api/*.py`.
    """
    a_glob, b_glob = is_glob(a), is_glob(b)
    if not a_glob and not b_glob:
        return a == b or b.startswith(a + "/") or a.startswith(b + "/")
    if a_glob and b_glob:
        pa, pb = literal_prefix(a), literal_prefix(b)
        return pa.startswith(pb) or pb.startswith(pa)
    pattern, path = (a, b) if a_glob else (b, a)
    return (
        fnmatch.fnmatchcase(path, pattern)
        or fnmatch.fnmatchcase(path, pattern.rstrip("*/"))
        or literal_prefix(pattern).startswith(path + "/")
    )


def overlap_conflicts(tasks: Sequence[Task]) -> dict[str, set[str]]:
    """For each task, the tasks it must not run beside: they may touch the same file and
    neither depends (directly or through others) on the other.

    Candidate pairs come from indexes, not from comparing every declared path with every
    other: literal paths by exact name and by parent directory, globs by their fixed
    prefix against a sorted list of literal paths and of glob prefixes.
    """
    literal_owners: dict[str, list[str]] = defaultdict(list)
    glob_owners: dict[str, list[str]] = defaultdict(list)
    for t in tasks:
        for path in {normalize_path(f) for f in t.files if f.strip()}:
            (glob_owners if is_glob(path) else literal_owners)[path].append(t.id)
    pairs: set[tuple[str, str]] = set()

    def pair_within(owners: list[str]) -> None:
        for i, a in enumerate(owners):
            for b in owners[i + 1 :]:
                if a != b:
                    pairs.add((a, b) if a < b else (b, a))

    def pair_across(owners: list[str], others: list[str]) -> None:
        for a in owners:
            for b in others:
                if a != b:
                    pairs.add((a, b) if a < b else (b, a))

    for path, owners in literal_owners.items():
        pair_within(owners)
        for directory in parent_dirs(path):
            if directory in literal_owners:
                pair_across(owners, literal_owners[directory])
    literals = sorted(literal_owners)
    by_prefix: dict[str, list[str]] = defaultdict(list)
    for pattern, owners in glob_owners.items():
        prefix = literal_prefix(pattern)
        by_prefix[prefix].extend(owners)
        candidates = set(parent_dirs(prefix))
        bare = pattern.rstrip("*/")
        if not is_glob(bare):
            candidates.add(bare)
        for index in range(bisect.bisect_left(literals, prefix), len(literals)):
            if not literals[index].startswith(prefix):
                break
            candidates.add(literals[index])
        for path in candidates:
            if path in literal_owners and patterns_may_meet(pattern, path):
                pair_across(owners, literal_owners[path])
    # Globs meet when one's fixed prefix starts with the other's; in sorted order, the
    # prefixes that start with p come right after p.
    prefixes = sorted(by_prefix)
    for index, prefix in enumerate(prefixes):
        pair_within(by_prefix[prefix])
        after = index + 1
        while after < len(prefixes) and prefixes[after].startswith(prefix):
            pair_across(by_prefix[prefix], by_prefix[prefixes[after]])
            after += 1
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
    """Answers 'does one of these two tasks depend on the other?' for an acyclic plan.

    Most pairs are settled by labels alone. A few hundred landmark tasks, evenly spread
    over a topological order, give each task two bit sets: the landmarks it depends on
    and the landmarks that depend on it. `high` cannot depend on `low` if `low` depends
    on a landmark that `high` does not (or the other way round below); it does if it
    depends on a landmark that depends on `low`. The rest is a search that enters only
    the dependencies whose labels still allow a path. Building the labels is linear;
    a pair costs a few set operations on small integers.
    """

    LANDMARKS = 256

    def __init__(self, tasks: Sequence[Task]) -> None:
        known = dependency_positions(tasks)
        depends = {t.id: [tasks[p].id for p in deps] for t, deps in zip(tasks, known, strict=True)}
        order = [tasks[index].id for index in topological_positions(tasks, known)]
        position = {task_id: index for index, task_id in enumerate(order)}
        step = max(1, len(order) // self.LANDMARKS)
        landmark = {order[i]: 1 << (i // step) for i in range(0, len(order), step)}
        below: dict[str, int] = {}  # landmarks a task depends on (itself included)
        for task_id in order:
            mask = landmark.get(task_id, 0)
            for dep in depends[task_id]:
                mask |= below[dep]
            below[task_id] = mask
        above = {task_id: landmark.get(task_id, 0) for task_id in order}  # ...that depend on it
        for task_id in reversed(order):
            mask = above[task_id]
            for dep in depends[task_id]:
                above[dep] |= mask
        # The search pops the last dependency first: make that the earliest one.
        for deps in depends.values():
            if len(deps) > 1:
                deps.sort(key=position.__getitem__, reverse=True)
        self.depends, self.position, self.below, self.above = depends, position, below, above

    def depends_on(self, high: str, low: str) -> bool:
        """Whether `high` depends on `low`, directly or through other tasks."""
        position, below, above = self.position, self.below, self.above
        floor, low_below, low_above = position[low], below[low], above[low]
        if position[high] <= floor or low_below & ~below[high] or above[high] & ~low_above:
            return False
        if below[high] & low_above:
            return True
        stack, seen = [high], {high}
        while stack:
            for dep in self.depends[stack.pop()]:
                if dep == low:
                    return True
                if dep in seen:
                    continue
                seen.add(dep)
                if position[dep] > floor and not (
                    low_below & ~below[dep] or above[dep] & ~low_above
                ):
                    if below[dep] & low_above:
                        return True
                    stack.append(dep)
        return False

    def related(self, a: str, b: str) -> bool:
        if self.position[a] > self.position[b]:
            return self.depends_on(a, b)
        return self.depends_on(b, a)


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
