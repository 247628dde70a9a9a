"""ruff on the run's lines only: `ruff format --range` per changed hunk, and ruff check's
fixes applied by us, only those whose edits lie on lines the run changed.

`ruff check --fix` and a plain `ruff format` rewrite whole files, old code included. Here a
new file is formatted and fixed whole; a changed one gets one `ruff format --range` per hunk
(last hunk first, so line numbers above stay right), then the line map is read again and
`ruff check --output-format json` is asked for its fixes: a safe fix whose every edit is on
changed lines is applied, anything else is left alone and counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .baseline import LineMap
from .tools import ToolRun

FIX_PASSES = 3

RunTool = Callable[[str, list[str]], ToolRun]


@dataclass
class RangedOutcome:
    formatted: set[str] = field(default_factory=set)
    fixed: set[str] = field(default_factory=set)
    fixes: int = 0
    left_outside: int = 0  # fixes ruff offered outside the run's lines
    remaining: list[str] = field(default_factory=list)
    problem: str = ""


def format_ranges(ruff: list[str], files: list[str], lines: LineMap, run: RunTool) -> str:
    """Format each file's changed ranges; '' or the first problem."""
    for name in files:
        if name in lines.whole:
            done = run("ruff format", [*ruff, "format", name])
        else:
            done = None
            for first, last in sorted(lines.ranges.get(name, []), reverse=True):
                done = run("ruff format", [*ruff, "format", f"--range={first}-{last + 1}", name])
                if not done.ok:
                    break
        if done is not None and not done.ok:
            return done.problem
    return ""


def offsets(text: str) -> list[int]:
    """Offset of the start of each line (1-based rows: index row - 1)."""
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def position(starts: list[int], text: str, row: int, column: int) -> int:
    if row - 1 >= len(starts):
        return len(text)
    return min(starts[row - 1] + column - 1, len(text))


def edit_rows(edit: dict[str, Any]) -> tuple[int, int]:
    """The rows an edit changes (an end at column 1 does not touch its row)."""
    first = int(edit["location"]["row"])
    end = edit["end_location"]
    last = int(end["row"]) - (1 if int(end["column"]) == 1 and int(end["row"]) > first else 0)
    return first, max(first, last)


def apply_fixes(path: Path, name: str, items: list[dict[str, Any]], lines: LineMap) -> int:
    """Apply the safe fixes of one file's diagnostics that lie on changed lines; the count."""
    text = path.read_text(encoding="utf-8")
    starts = offsets(text)
    chosen: list[tuple[int, int, str]] = []
    for item in items:
        fix = item.get("fix") or {}
        edits = fix.get("edits") or []
        if fix.get("applicability") != "safe" or not edits:
            continue
        if not all(lines.covers(name, *edit_rows(e)) for e in edits):
            continue
        spans = [
            (
                position(starts, text, e["location"]["row"], e["location"]["column"]),
                position(starts, text, e["end_location"]["row"], e["end_location"]["column"]),
                str(e.get("content") or ""),
            )
            for e in edits
        ]
        if any(a < d and c < b for a, b, _ in spans for c, d, _ in chosen):
            continue  # overlaps a fix already taken: the next pass gets it
        chosen += spans
    for start, end, content in sorted(chosen, reverse=True):
        text = text[:start] + content + text[end:]
    if chosen:
        path.write_text(text, encoding="utf-8")
    return len(chosen)


def diagnostics(run: ToolRun) -> list[dict[str, Any]]:
    try:
        items = json.loads(run.output or "[]")
    except json.JSONDecodeError:
        return []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def relative(name: str, root: Path) -> str:
    path = Path(name).resolve()
    base = root.resolve()
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else name


def check_and_fix(
    ruff: list[str],
    root: Path,
    files: list[str],
    read_lines: Callable[[], LineMap],
    run: RunTool,
    outcome: RangedOutcome,
) -> None:
    """Apply ruff check's in-range safe fixes until none is left (a few passes)."""
    argv = [*ruff, "check", "--output-format", "json", "--no-fix", *files]
    items: list[dict[str, Any]] = []
    lines = read_lines()
    for _ in range(FIX_PASSES):
        done = run("ruff check", argv)
        if not done.finished or done.exit_code not in (0, 1):
            outcome.problem = done.problem or f"ruff check exited {done.exit_code}"
            return
        items = diagnostics(done)
        by_file: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            by_file.setdefault(relative(str(item.get("filename", "")), root), []).append(item)
        applied = 0
        for name, found in by_file.items():
            count = apply_fixes(root / name, name, found, lines)
            if count:
                outcome.fixed.add(name)
            applied += count
        outcome.fixes += applied
        if not applied:
            break
        lines = read_lines()
    outcome.remaining = []
    outcome.left_outside = 0
    for item in items:
        name = relative(str(item.get("filename", "")), root)
        row = int((item.get("location") or {}).get("row", 0) or 0)
        if lines.touches(name, row):
            outcome.remaining.append(f"{name}:{row} {item.get('code', '?')} {item.get('message')}")
        else:
            outcome.left_outside += 1
