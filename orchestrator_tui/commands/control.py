"""`approve`, `reject`, `pause`, `resume`, `retry`, `skip`, `cancel`: steer the open run.

The command goes into the workspace's inbox; when the engine is alive we wait briefly for
its answer (a CommandApplied event) and print it, so the user knows it took effect.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.events import CommandApplied
from ..infra.fsutil import DiskError
from ..infra.session import lock_is_stale, read_lock, submit
from ..infra.store import RunFiles, latest_run_id, load_run, read_events

ANSWER_WAIT_SECONDS = 5.0


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace)
    holder = read_lock(workspace)
    live = holder is not None and not lock_is_stale(holder)
    # a run that is starting holds the lock a moment before its log exists: it reads the inbox
    run_id = holder.run_id if holder is not None and live else latest_run_id(workspace)
    if run_id is None:
        print(f"no run in {workspace}: start one with `orchestrator-tui run`", file=sys.stderr)
        return 1
    files = RunFiles(workspace, run_id)
    state, _warnings = load_run(files)
    if state.finished:
        print(
            f"run {run_id} has ended ({state.outcome}); nothing to {args.action}", file=sys.stderr
        )
        return 1
    start = files.events.stat().st_size if files.events.exists() else 0
    try:
        command = submit(workspace, args.action, args.task, args.feedback, by="cli")
    except DiskError as exc:
        print(exc.strerror, file=sys.stderr)
        return 1
    if not live:
        print(f"queued {args.action}: no engine is running; it applies when the run resumes")
        return 0
    answer = wait_for_answer(files, start, command.id)
    if answer is None:
        print(f"queued {args.action}; the engine has not answered yet")
        return 0
    print(("done: " if answer.ok else "refused: ") + answer.message)
    return 0 if answer.ok else 1


def wait_for_answer(
    files: RunFiles, start: int, command_id: str, seconds: float = ANSWER_WAIT_SECONDS
) -> CommandApplied | None:
    """The engine's answer to our command, read from the log after byte `start`; None when
    it has not answered within `seconds`."""
    deadline = time.monotonic() + seconds
    offset = start
    while time.monotonic() < deadline:
        read = read_events(files.events, offset)
        offset = read.valid_bytes
        for event in read.events:
            if isinstance(event, CommandApplied) and event.command_id == command_id:
                return event
        time.sleep(0.05)
    return None
