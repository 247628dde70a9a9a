"""The lines the run changed, against the run's base commit.

Security and cleanup judge only the run's work: a finding on a line the run did not touch is
pre-existing (listed apart, SARIF `baselineState: unchanged`), and cleanup formats and fixes
only the changed lines. The line map comes from `git diff -U0 <base>` of the checkout's
working tree (so it stays right while cleanup edits the files); a file git does not know
(new, untracked) or a workspace without git counts as changed throughout.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .changes import ChangeSet, git

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.MULTILINE)
FILE = re.compile(r"^\+\+\+ (?:b/)?(.+)$", re.MULTILINE)


@dataclass
class LineMap:
    """For each changed file, the ranges (first, last; 1-based, inclusive) of lines the run
    added or changed; files in `whole` changed throughout (new, or no git to ask)."""

    ranges: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)

    def touches(self, file: str, line: int) -> bool:
        """Whether the run changed `line` of `file` (line 0: anywhere in the file)."""
        if file in self.whole:
            return True
        spans = self.ranges.get(file, [])
        if line <= 0:
            return bool(spans)
        return any(first <= line <= last for first, last in spans)

    def covers(self, file: str, first: int, last: int) -> bool:
        """Whether every line first..last is one the run changed."""
        if file in self.whole:
            return True
        return all(self.touches(file, line) for line in range(first, last + 1))

    def count(self, file: str) -> int:
        return sum(last - first + 1 for first, last in self.ranges.get(file, []))


def parse_unified_zero(diff: str) -> dict[str, list[tuple[int, int]]]:
    """`git diff -U0` → file → added/changed line ranges (pure deletions leave none)."""
    found: dict[str, list[tuple[int, int]]] = {}
    current = ""
    for line in diff.splitlines():
        if line.startswith("+++ "):
            name = line[4:].strip()
            current = "" if name == "/dev/null" else name.removeprefix("b/")
            if current:
                found.setdefault(current, [])
            continue
        match = HUNK.match(line)
        if match and current:
            start, length = int(match.group(1)), int(match.group(2) or "1")
            if length:
                found[current].append((start, start + length - 1))
    return found


def line_map(changes: ChangeSet, files: Iterable[str] | None = None) -> LineMap:
    """The run's changed lines in `files` (default: all its changed files)."""
    names = list(changes.files if files is None else files)
    if not changes.in_git or not changes.base:
        return LineMap(whole=set(names))
    diff = git(
        changes.root,
        "diff",
        "-U0",
        "--no-color",
        "--no-ext-diff",
        "--no-renames",
        "--relative",
        changes.base,
        "--",
        *names,
    )
    if not diff.ok:
        return LineMap(whole=set(names))
    ranges = parse_unified_zero(diff.output)
    known = git(changes.root, "ls-tree", "-r", "--name-only", changes.base, "--", *names)
    in_base = set(known.output.splitlines()) if known.ok else set()
    whole = {n for n in names if n not in in_base}
    return LineMap({n: r for n, r in ranges.items() if n not in whole}, whole)
