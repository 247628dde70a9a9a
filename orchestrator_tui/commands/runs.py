"""`orchestrator-tui runs [-C DIR] [--json]`: the workspace's runs, newest first.

One row per run read from its event log (infra/run_index.py): its ID, when it started, how
long it took, how it ended, tasks done of all, test counts, security findings, cost and its
goal. A log that is torn or holds garbage adds a `!` line under its run saying what was
skipped; a log that cannot be read at all is listed as unreadable. Exit 0; 2 when DIR is
not a directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..core.run_summary import (
    RunSummary,
    findings_text,
    outcome_text,
    tasks_text,
    tests_text,
)
from ..infra.run_index import list_runs
from ..ui.view import fmt_cost, fmt_duration, shorten

HEADERS = ("RUN", "STARTED", "TOOK", "OUTCOME", "TASKS", "TESTS", "FINDINGS", "COST", "GOAL")
GOAL_WIDTH = 40


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    runs = list_runs(workspace)
    if args.json:
        sys.stdout.write(json.dumps([r.as_dict() for r in runs], indent=2) + "\n")
        return 0
    if not runs:
        print(f"no runs in {workspace / '.orchestrator' / 'runs'}")
        return 0
    sys.stdout.write(render(runs))
    return 0


def started_text(summary: RunSummary) -> str:
    if not summary.started_at:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.started_at))


def row(summary: RunSummary) -> tuple[str, ...]:
    if summary.outcome == "unreadable":
        return (summary.run_id, "—", "—", "unreadable", "—", "—", "—", "—", "—")
    return (
        summary.run_id,
        started_text(summary),
        fmt_duration(summary.duration) if summary.started_at else "—",
        outcome_text(summary),
        tasks_text(summary),
        tests_text(summary),
        findings_text(summary),
        fmt_cost(summary.cost_usd),
        shorten(summary.goal, GOAL_WIDTH) or "—",
    )


def render(runs: list[RunSummary]) -> str:
    """The table: aligned columns, then under a run each of its warnings."""
    rows = [HEADERS, *(row(r) for r in runs)]
    widths = [max(len(r[n]) for r in rows) for n in range(len(HEADERS))]
    lines = []
    for index, cells in enumerate(rows):
        text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        lines.append(text)
        if index == 0:
            continue
        summary = runs[index - 1]
        if summary.outcome == "unreadable":
            lines.append(f"  ! {summary.reason}")
        lines += [f"  ! {w}" for w in summary.warnings if w != summary.reason]
    return "\n".join(lines) + "\n"
