"""`orchestrator-tui monitor [WORKSPACE]`: the compact view that follows a run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    from ..monitor.app import run_monitor

    return run_monitor(workspace.resolve())
