"""`orchestrator-tui run`: open the app (or run headless) on the workspace."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import UsageError, engine_options, run_or_open_app


def main(args: argparse.Namespace) -> int:
    try:
        options = engine_options(args, Path(args.workspace))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    return run_or_open_app(args, options)
