"""`orchestrator-tui init`: set a workspace up for orchestration."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.config import CONFIG_PATH, config_template
from ..resources import claude_md_example

PLAN_TEMPLATE = """\
# Plan: Describe the goal in one line

Free text about the goal: what should exist when the run is complete, and why.

## T1: First task
depends: none
files: src/example.py, tests/test_example.py
estimate: 20m

What to build and how to know it is done. Tasks with no dependencies between them run
at the same time in separate agents; tasks whose files overlap never run side by side.

## T2: Second task
depends: T1
files: src/other.py
estimate: 10m

Describe the second task.
"""


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.directory)
    if workspace.exists() and not workspace.is_dir():
        print(f"{workspace}: not a directory", file=sys.stderr)
        return 1
    files = {
        Path("CLAUDE.md"): claude_md_example(),
        Path("PLAN.md"): PLAN_TEMPLATE,
        CONFIG_PATH: config_template(),
    }
    status = 0
    for relative, text in files.items():
        path = workspace / relative
        if path.exists() and not args.force:
            print(f"kept     {path} (exists; --force overwrites it)")
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            existed = path.exists()
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{'replaced' if existed else 'wrote':8} {path}")
    return status
