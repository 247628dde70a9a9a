"""`orchestrator-tui runs [-C DIR] [--json] [--open [ID]]`: the workspace's runs, newest
first.

One row per run read from its event log (infra/run_index.py): its ID, when it started, how
long it took, how it ended, tasks done of all, test counts, security findings, cost and its
goal. A log that is torn or holds garbage adds a `!` line under its run saying what was
skipped; a log that cannot be read at all is listed as unreadable. Exit 0; 2 when DIR is
not a directory.

`--open` shows the same list in the app (ui/runs_app.py); `--open ID` opens that run
read-only over it, with its timeline (ID: the whole ID, a unique part of one, or `last`).
Exit 2 when no run fits ID.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.run_summary import RunSummary
from ..infra.run_index import list_runs
from ..ui.run_rows import HEADERS, row


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    if getattr(args, "open", None) is not None:
        if args.json:
            print("--open and --json do not go together", file=sys.stderr)
            return 2
        return browse(workspace, args.open)
    runs = list_runs(workspace)
    if args.json:
        sys.stdout.write(json.dumps([r.as_dict() for r in runs], indent=2) + "\n")
        return 0
    if not runs:
        print(f"no runs in {workspace / '.orchestrator' / 'runs'}")
        return 0
    sys.stdout.write(render(runs))
    return 0


def browse(workspace: Path, wanted: str) -> int:
    """The runs in the app; `wanted` (not empty) opened over the list."""
    from ..ui.past_runs import UnknownRun, load_past_run, resolve_run_id
    from ..ui.runs_app import RunsApp

    past = None
    if wanted:
        try:
            past = load_past_run(workspace, resolve_run_id(workspace, wanted))
        except UnknownRun as exc:
            print(exc, file=sys.stderr)
            return 2
    RunsApp(workspace, past).run()
    return 0


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
