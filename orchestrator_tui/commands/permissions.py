"""`permissions [--json]`, `allow ID [--session]`, `deny ID -m TEXT`, `say TASK TEXT`,
`interrupt TASK`: the permission queue and the line to running agents, from any shell.

Answers and messages go through the inbox like every command; the engine applies them in
arrival order, so of two answers to one request (from two shells, the app, the monitor)
exactly one is applied and the other is refused "already answered". We wait for the
engine's CommandApplied and print it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from ..core.permissions import waiting
from ..infra.fsutil import DiskError
from ..infra.session import lock_is_stale, read_lock, submit
from ..infra.store import RunFiles, latest_run_id, load_run
from .control import wait_for_answer

ANSWER_WAIT_SECONDS = 15.0


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace)
    run_id = latest_run_id(workspace)
    if run_id is None:
        print(f"no run in {workspace}: start one with `orchestrator-tui run`", file=sys.stderr)
        return 1
    files = RunFiles(workspace, run_id)
    state, _warnings = load_run(files)
    holder = read_lock(workspace)
    alive = holder is not None and not lock_is_stale(holder)
    if args.action == "permissions":
        return show(state.permissions, alive, args.json)
    if state.finished:
        print(f"run {run_id} has ended ({state.outcome})", file=sys.stderr)
        return 1
    if not alive:
        print(
            "no engine is running: nothing waits for an answer now (a resumed run asks again)",
            file=sys.stderr,
        )
        return 1
    action, target, text = args.action, args.target, getattr(args, "message", "") or ""
    if action == "allow" and args.session:
        action = "allow_session"
    if action == "say":
        text = " ".join(args.text)
    start = files.events.stat().st_size
    try:
        command = submit(workspace, action, target, text, by="cli")
    except DiskError as exc:
        print(exc.strerror, file=sys.stderr)
        return 1
    answer = wait_for_answer(files, start, command.id, ANSWER_WAIT_SECONDS)
    if answer is None:
        print(f"queued {action} {target}; the engine has not answered yet")
        return 0
    if answer.ok:
        print(f"done: {answer.message}")
        return 0
    print(f"refused: {answer.message}", file=sys.stderr)
    return 1


def show(permissions: dict, alive: bool, as_json: bool) -> int:
    queue = waiting(permissions)
    if as_json:
        rows = [
            {
                "id": p.id,
                "task": p.task,
                "attempt": p.attempt,
                "tool": p.tool,
                "summary": p.summary,
                "detail": p.detail,
                "options": list(p.options),
                "asked_at": p.asked_at,
                "engine_running": alive,
            }
            for p in queue
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not queue:
        print("no permission request waits")
        return 0
    now = time.time()
    width = max(len(p.id) for p in queue)
    for p in queue:
        age = max(0, int(now - p.asked_at))
        print(f"{p.id:<{width}}  {p.task}  {p.line}  ({age} s; {', '.join(p.options)})")
    if not alive:
        print("(no engine is running: these are withdrawn when the run resumes)")
    else:
        print("answer: orchestrator-tui allow ID [--session] | deny ID -m WHY")
    return 0
