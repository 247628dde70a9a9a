"""`orchestrator-tui plan check`: validate a plan and show how it will run.

It works on the parser's records (core/plan_fields.py) and imports neither pydantic nor
the scheduler: on a small plan the whole command is mostly Python's start-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import TextIO

from ..core.graph import critical_path, ready_tasks, waves
from ..core.overlap import overlap_groups
from ..core.plan import PlanError, PlanRecord, format_duration, read_plan

CONFIG_FILE = Path(".orchestrator") / "config.toml"


def configured_tag(config: Path = CONFIG_FILE) -> str | None:
    """`[run] taskmaster_tag` of the workspace's config, read without loading the models."""
    try:
        import tomllib

        with config.open("rb") as stream:
            run = tomllib.load(stream).get("run", {})
    except (OSError, ValueError):
        return None
    tag = run.get("taskmaster_tag") if isinstance(run, dict) else None
    return tag if isinstance(tag, str) and tag else None


def main(args: argparse.Namespace) -> int:
    tag = getattr(args, "tag", None)
    if not tag and str(args.plan).endswith(".json"):
        tag = configured_tag()
    try:
        plan = read_plan(args.plan, tag)
    except PlanError as exc:
        if args.json:
            import json

            result = {"tasks": [], "waves": [], "critical_path": [], "overlaps": []}
            errors = [p._asdict() for p in exc.problems]
            print(json.dumps({**result, "errors": errors}, indent=2))
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    tasks = plan.tasks
    plan_waves, path, overlaps = waves(tasks), critical_path(tasks), overlap_groups(tasks)
    first = ready_tasks(tasks, {t.id for t in tasks if t.done or t.skip})
    if args.json:
        import json

        result = {
            "title": plan.title,
            "notes": list(plan.notes),
            "tasks": [task._asdict() for task in tasks],
            "waves": plan_waves,
            "critical_path": path,
            "overlaps": overlaps,
            "first": first,
            "errors": [],
        }
        print(json.dumps(result, indent=2))
        return 0
    print_plan(plan, plan_waves, path, overlaps, first)
    return 0


def status_mark(task) -> str:  # type: ignore[no-untyped-def]
    if task.done:
        return " (done)"
    if task.skip:
        return f" ({task.note or 'skipped'}: not run)"
    return f" ({task.note})" if task.note else ""


class Style:
    """ANSI styles when stdout is a terminal (and NO_COLOR is unset), else plain text."""

    def __init__(self, stream: TextIO) -> None:
        self.on = stream.isatty() and not os.environ.get("NO_COLOR")

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on and text else text


def fold(text: str, width: int) -> list[str]:
    """A cell's text in lines of at most `width` characters, broken at spaces if possible."""
    lines: list[str] = []
    for paragraph in text.split("\n") or [""]:
        while len(paragraph) > width:
            cut = paragraph.rfind(" ", 0, width + 1)
            cut = cut if cut > 0 else width
            lines.append(paragraph[:cut].rstrip())
            paragraph = paragraph[cut:].lstrip()
        lines.append(paragraph)
    return lines


def table_lines(title: str, header: list[str], rows: list[list[str]], columns: int) -> list[str]:
    """A box-drawn table, its long cells folded so that it fits in `columns`."""
    widths = [
        max([len(h), *(len(line) for row in rows for line in row[i].split("\n"))])
        for i, h in enumerate(header)
    ]
    room = columns - (3 * len(header) + 1)
    floors = [max(3, len(h)) for h in header]
    while sum(widths) > room:  # take from the widest column that can give, a step at a time
        widest = max(range(len(widths)), key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1

    def border(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(values: list[str], bar: str) -> list[str]:
        folded = [fold(v, w) for v, w in zip(values, widths, strict=True)]
        height = max(map(len, folded))
        return [
            bar
            + bar.join(
                f" {(f[n] if n < len(f) else ''):<{w}} "
                for f, w in zip(folded, widths, strict=True)
            )
            + bar
            for n in range(height)
        ]

    top = border("┏", "━", "┳", "┓")
    out = [title.center(len(top)).rstrip(), top, *cells(header, "┃")]
    out.append(border("┡", "━", "╇", "┩"))
    for row in rows:
        out += cells(row, "│")
    out.append(border("└", "─", "┴", "┘"))
    return out


def print_plan(  # type: ignore[no-untyped-def]
    plan: PlanRecord, plan_waves, path, overlaps, first
) -> None:
    """The plan as a table, then its waves, first tasks, critical path and overlaps.

    Plain text and box drawing (no rich: it would double the command's start-up); the
    plan's text is printed as written, never read as markup.
    """
    out = sys.stdout
    style = Style(out)
    columns = shutil.get_terminal_size((80, 24)).columns
    on_path = set(path)
    wave_of = {tid: n for n, wave in enumerate(plan_waves) for tid in wave}
    count = len(plan.tasks)
    header = ["wave", "id", "title", "depends", "files", "agent", "estimate"]
    rows = [
        [
            str(wave_of[task.id] + 1),
            ("★ " if task.id in on_path else "") + task.id,
            task.title + status_mark(task),
            ", ".join(task.depends) or "—",
            ", ".join(task.files) or "—",
            task.agent or "default",
            format_duration(task.estimate) if task.estimate else "—",
        ]
        for task in plan.tasks
    ]
    lines = [style(note, "2") for note in plan.notes]
    title = f"{plan.title or plan.source} — {count} task{'s' * (count != 1)}"
    lines += table_lines(title, header, rows, columns)
    waves_text = style(f"{len(plan_waves)} wave{'s' * (len(plan_waves) != 1)}", "1")
    if first:
        lines.append(f"{waves_text}; first to run: {', '.join(first)}")
    else:
        lines.append(f"{waves_text}; nothing to run: every task is done or skipped")
    lines.append(f"{style('★ critical path:', '1;35')} {' → '.join(path)}")
    for group in overlaps:
        lines.append(
            f"{style('overlap:', '33')} {', '.join(group)} may touch the same files; "
            "they will not run side by side"
        )
    out.write("\n".join(lines) + "\n")
