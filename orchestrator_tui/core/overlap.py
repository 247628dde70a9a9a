"""File overlap: which tasks may touch the same file (paths or globs) while neither depends
on the other, so the scheduler never runs them side by side."""

from __future__ import annotations

import bisect
import fnmatch
import posixpath
from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .graph import dependency_positions, topological_positions

if TYPE_CHECKING:
    from .models import Task

GLOB_CHARS = frozenset("*?[")


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
    prefix against a sorted list of literal paths and of glob prefixes. Tasks are plan
    positions (integers) until the answer is written out.
    """
    literal_owners: dict[str, list[int]] = defaultdict(list)
    glob_owners: dict[str, list[int]] = defaultdict(list)
    for position, t in enumerate(tasks):
        if not t.files:
            continue
        for path in {normalize_path(f) for f in t.files if f.strip()}:
            (glob_owners if is_glob(path) else literal_owners)[path].append(position)
    size = len(tasks)
    pairs: set[int] = set()  # low * size + high, low < high

    def pair_within(owners: list[int]) -> None:
        for i, a in enumerate(owners):
            for b in owners[i + 1 :]:
                if a != b:
                    pairs.add(a * size + b if a < b else b * size + a)

    def pair_across(owners: list[int], others: list[int]) -> None:
        for a in owners:
            for b in others:
                if a != b:
                    pairs.add(a * size + b if a < b else b * size + a)

    for path, owners in literal_owners.items():
        if len(owners) > 1:
            pair_within(owners)
        if "/" in path:
            for directory in parent_dirs(path):
                if directory in literal_owners:
                    pair_across(owners, literal_owners[directory])
    literals = sorted(literal_owners) if glob_owners else []
    by_prefix: dict[str, list[int]] = defaultdict(list)
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
    related = Ancestry(tasks).related_positions
    for key in pairs:
        a, b = divmod(key, size)
        if not related(a, b):
            conflicts[tasks[a].id].add(tasks[b].id)
            conflicts[tasks[b].id].add(tasks[a].id)
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

    Most pairs are settled by labels alone. Landmark tasks, evenly spread over a
    topological order (at least LANDMARKS of them, and one per SPACING tasks in a large
    plan, so that the searches below stay short however large the plan), give each task
    two bit sets: the landmarks it depends on and the landmarks that depend on it. `high`
    cannot depend on `low` if `low` depends on a landmark that `high` does not (or the
    other way round below); it does if it depends on a landmark that depends on `low`.
    The rest is a search that enters only the dependencies whose labels still allow a
    path. Building the labels is linear; a pair costs a few integer operations.
    """

    LANDMARKS = 256
    SPACING = 48

    def __init__(self, tasks: Sequence[Task]) -> None:
        known = dependency_positions(tasks)
        order = topological_positions(tasks, known)
        count = len(order)
        rank = [0] * count  # a task's place in the topological order
        for place, position in enumerate(order):
            rank[position] = place
        landmarks = max(self.LANDMARKS, count // self.SPACING, 1)
        step = max(1, count // landmarks)
        below = [0] * count  # landmarks a task depends on (itself included)
        above = [0] * count  # landmarks that depend on it (itself included)
        for place, position in enumerate(order):
            mask = 1 << (place // step) if place % step == 0 else 0
            above[position] = mask
            for dep in known[position]:
                mask |= below[dep]
            below[position] = mask
        for position in reversed(order):
            mask = above[position]
            for dep in known[position]:
                above[dep] |= mask
        # The search pops the last dependency first: make that the earliest one.
        self.depends = [
            sorted(deps, key=rank.__getitem__, reverse=True) if len(deps) > 1 else deps
            for deps in known
        ]
        self.rank, self.below, self.above = rank, below, above
        self.index = {task.id: position for position, task in enumerate(tasks)}

    def depends_on(self, high: int, low: int) -> bool:
        """Whether the task at plan position `high` depends on the one at `low`."""
        rank, below, above = self.rank, self.below, self.above
        floor, low_below, low_above = rank[low], below[low], above[low]
        if rank[high] <= floor or low_below & ~below[high] or above[high] & ~low_above:
            return False
        if below[high] & low_above:
            return True
        stack, seen = [high], {high}
        depends = self.depends
        while stack:
            for dep in depends[stack.pop()]:
                if dep == low:
                    return True
                if dep in seen:
                    continue
                seen.add(dep)
                if rank[dep] > floor and not (low_below & ~below[dep] or above[dep] & ~low_above):
                    if below[dep] & low_above:
                        return True
                    stack.append(dep)
        return False

    def related_positions(self, a: int, b: int) -> bool:
        if self.rank[a] > self.rank[b]:
            return self.depends_on(a, b)
        return self.depends_on(b, a)

    def related(self, a: str, b: str) -> bool:
        return self.related_positions(self.index[a], self.index[b])
