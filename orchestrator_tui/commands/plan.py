"""`orchestrator-tui plan check`: validate a plan and show how it will run.

It works on the parser's records (core/plan_fields.py) and imports neither pydantic nor
the scheduler: on a small plan the whole command is mostly Python's start-up.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

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
            result = {"tasks": [], "waves": [], "critical_path": [], "overlaps": []}
            print(json.dumps({**result, "errors": [asdict(p) for p in exc.problems]}, indent=2))
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    tasks = plan.tasks
    plan_waves, path, overlaps = waves(tasks), critical_path(tasks), overlap_groups(tasks)
    first = ready_tasks(tasks, {t.id for t in tasks if t.done or t.skip})
    if args.json:
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
        return " [dim](done)[/]"
    if task.skip:
        return f" [dim]({task.note or 'skipped'}: not run)[/]"
    return f" [cyan]({task.note})[/]" if task.note else ""


def print_plan(  # type: ignore[no-untyped-def]
    plan: PlanRecord, plan_waves, path, overlaps, first
) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for note in plan.notes:
        console.print(f"[dim]{escape(note)}[/]")
    on_path = set(path)
    wave_of = {tid: n for n, wave in enumerate(plan_waves) for tid in wave}
    count = len(plan.tasks)
    # Plan text is data, not markup: a title like "Fix [/b] tags" must print as written.
    table = Table(title=f"{escape(plan.title or plan.source)} — {count} task{'s' * (count != 1)}")
    for column in ("wave", "id", "title", "depends", "files", "agent", "estimate"):
        table.add_column(column, overflow="fold")
    for task in plan.tasks:
        mark = "[bold magenta]★[/] " if task.id in on_path else ""
        table.add_row(
            str(wave_of[task.id] + 1),
            mark + escape(task.id),
            escape(task.title) + status_mark(task),
            escape(", ".join(task.depends)) or "—",
            escape(", ".join(task.files)) or "—",
            escape(task.agent or "default"),
            format_duration(task.estimate) if task.estimate else "—",
        )
    console.print(table)
    waves_text = f"{len(plan_waves)} wave{'s' * (len(plan_waves) != 1)}"
    if first:
        console.print(f"[bold]{waves_text}[/]; first to run: {escape(', '.join(first))}")
    else:
        console.print(f"[bold]{waves_text}[/]; nothing to run: every task is done or skipped")
    console.print(f"[bold magenta]★ critical path:[/] {escape(' → '.join(path))}")
    for group in overlaps:
        console.print(
            f"[yellow]overlap:[/] {escape(', '.join(group))} may touch the same files; "
            "they will not run side by side"
        )
