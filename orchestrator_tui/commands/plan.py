"""`orchestrator-tui plan check`: validate a plan and show how it will run."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from ..core.plan import PlanError, format_duration, parse_plan
from ..core.scheduler import schedule


def main(args: argparse.Namespace) -> int:
    try:
        plan = parse_plan(args.plan)
    except PlanError as exc:
        if args.json:
            result = {"tasks": [], "waves": [], "critical_path": [], "overlaps": []}
            print(json.dumps({**result, "errors": [asdict(p) for p in exc.problems]}, indent=2))
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    plan_schedule = schedule(plan.tasks)
    if args.json:
        result = {
            "title": plan.title,
            "tasks": [task.model_dump() for task in plan.tasks],
            "waves": plan_schedule.waves,
            "critical_path": plan_schedule.critical_path,
            "overlaps": plan_schedule.overlaps,
            "errors": [],
        }
        print(json.dumps(result, indent=2))
        return 0
    print_plan(plan, plan_schedule)
    return 0


def print_plan(plan, plan_schedule) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    on_path = set(plan_schedule.critical_path)
    wave_of = {tid: n for n, wave in enumerate(plan_schedule.waves) for tid in wave}
    # Plan text is data, not markup: a title like "Fix [/b] tags" must print as written.
    table = Table(title=f"{escape(plan.title or plan.source)} — {len(plan.tasks)} tasks")
    for column in ("wave", "id", "title", "depends", "files", "agent", "estimate"):
        table.add_column(column, overflow="fold")
    for task in plan.tasks:
        mark = "[bold magenta]★[/] " if task.id in on_path else ""
        table.add_row(
            str(wave_of[task.id] + 1),
            mark + task.id,
            escape(task.title) + (" [dim](done)[/]" if task.done else ""),
            ", ".join(task.depends) or "—",
            escape(", ".join(task.files)) or "—",
            escape(task.agent or "default"),
            format_duration(task.estimate) if task.estimate else "—",
        )
    console.print(table)
    console.print(
        f"[bold]{len(plan_schedule.waves)} waves[/]; first to run: {', '.join(plan_schedule.first)}"
    )
    console.print(f"[bold magenta]★ critical path:[/] {' → '.join(plan_schedule.critical_path)}")
    for group in plan_schedule.overlaps:
        console.print(
            f"[yellow]overlap:[/] {', '.join(group)} may touch the same files; "
            "they will not run side by side"
        )
