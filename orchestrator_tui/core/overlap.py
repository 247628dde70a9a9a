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
    neither depends (directly or through others) on the other."""
    conflicts: dict[str, set[str]] = defaultdict(set)
    for a, b in conflict_pairs(tasks):
        conflicts[tasks[a].id].add(tasks[b].id)
        conflicts[tasks[b].id].add(tasks[a].id)
    return conflicts


def conflict_pairs(tasks: Sequence[Task]) -> list[tuple[int, int]]:
    """The pairs of plan positions that may touch the same file, neither depending on the
    other (see overlap_conflicts).

    Candidate pairs come from indexes, not from comparing every declared path with every
    other: literal paths by exact name and by parent directory, globs by their fixed
    prefix against a sorted list of literal paths and of glob prefixes. Tasks are plan
    positions (integers) until the answer is written out.
    """
    literal_owners: dict[str, list[int]] = defaultdict(list)
    glob_owners: dict[str, list[int]] = defaultdict(list)
    spelled: dict[str, tuple[str, bool]] = {}  # declared → (normal form, is a glob)
    for position, t in enumerate(tasks):
        if not t.files:
            continue
        seen = set()
        for declared in t.files:
            known = spelled.get(declared)
            if known is None:
                if not declared.strip():
                    continue
                path = normalize_path(declared)
                known = spelled[declared] = (path, is_glob(path))
            path, glob = known
            if path not in seen:
                seen.add(path)
                (glob_owners if glob else literal_owners)[path].append(position)
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
        if len(owners) == 2:  # the usual case, without a call
            a, b = owners
            pairs.add(a * size + b)  # owners are in plan order
        elif len(owners) > 2:
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
    if not pairs:
        return []
    ancestry = Ancestry(tasks)
    rank, below, above, search = ancestry.rank, ancestry.below, ancestry.above, ancestry.search
    found = []
    for key in pairs:
        a, b = divmod(key, size)
        high, low = (a, b) if rank[a] > rank[b] else (b, a)
        low_above, high_below = above[low], below[high]
        # The labels settle most pairs (see Ancestry); the search, the rest.
        unordered = below[low] & ~high_below or above[high] & ~low_above
        if unordered or not (high_below & low_above or search(high, low)):
            found.append((a, b))
    return found


def overlap_groups(tasks: Sequence[Task]) -> list[list[str]]:
    """Groups of tasks (connected by possible file overlap) that will not run side by side,
    each in plan order, in the order of their first tasks."""
    parent = list(range(len(tasks)))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    members = set()
    for a, b in conflict_pairs(tasks):
        members.add(a)
        members.add(b)
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[str]] = {}
    for position in sorted(members):
        groups.setdefault(root(position), []).append(tasks[position].id)
    return list(groups.values())


class Ancestry:
    """Answers 'does one of these two tasks depend on the other?' for an acyclic plan.

    Most pairs are settled by labels alone. Landmark tasks, evenly spread over a
    topological order (at least LANDMARKS of them, one per SPACING tasks up to MOST in a large
    plan, so that the searches below stay short however large the plan), give each task
    two bit sets: the landmarks it depends on and the landmarks that depend on it. `high`
    cannot depend on `low` if `low` depends on a landmark that `high` does not (or the
    other way round below); it does if it depends on a landmark that depends on `low`.
    The rest is a search that enters only the dependencies whose labels still allow a
    path. Building the labels is linear; a pair costs a few integer operations.
    """

    LANDMARKS = 256
    SPACING = 16
    MOST = 1024  # bits per label: 100,000 tasks take 26 MB of labels, not 150

    def __init__(self, tasks: Sequence[Task]) -> None:
        known = dependency_positions(tasks)
        order = topological_positions(tasks, known)
        count = len(order)
        rank = [0] * count  # a task's place in the topological order
        for place, position in enumerate(order):
            rank[position] = place
        landmarks = max(self.LANDMARKS, min(self.MOST, count // self.SPACING), 1)
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
        return self.search(high, low)

    def search(self, high: int, low: int) -> bool:
        """The part of depends_on that the labels of `high` and `low` did not settle."""
        rank, below, above = self.rank, self.below, self.above
        floor, low_below, low_above = rank[low], below[low], above[low]
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
