"""`orchestrator-tui run`: open the app (or run headless) on the workspace."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..infra.store import RunFiles, latest_run_id, load_run
from .common import UsageError, engine_options, run_or_open_app


def finished_run(workspace: Path) -> str | None:
    """`--resume` when the latest run has finished: what to say (None: resume or start)."""
    run_id = latest_run_id(workspace)
    if not run_id:
        return None
    state, _ = load_run(RunFiles(workspace, run_id))
    if not state.finished:
        return None
    reason = f" ({state.outcome_reason})" if state.outcome_reason else ""
    return f"run {run_id} already finished: {state.outcome}{reason}; `run --new` starts a new one"


def main(args: argparse.Namespace) -> int:
    if args.resume and args.new:
        print("--resume and --new: give one of them", file=sys.stderr)
        return 2
    try:
        options = engine_options(args, Path(args.workspace))
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.resume:
        done = finished_run(options.workspace)
        if done is not None:  # resume means resume: nothing is redone, no new run starts
            print(done, file=sys.stderr)
            return 0 if done.split(": ", 1)[1].startswith("complete") else 1
    return run_or_open_app(args, options)
