"""`orchestrator-tui take TASK [--print]`: take a running task over by hand; `orchestrator-tui
done TASK`: hand it back, finished.

The engine stops the task's agent and marks the task taken over (core/takeover.py); then
the agent's own interactive session, resumed from the task's session id, opens in the
task's worktree: in a new tmux window when we run inside tmux (`tmux new-window -c
WORKTREE 'claude --resume ID'`), else (or with --print) the exact command is printed. A
task already taken over is opened again (after you closed its window). When you have
finished, `orchestrator-tui done TASK` commits and merges the worktree and marks the task
done; its dependents, which waited, then start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ..core.events import CommandApplied, TaskTakenOver
from ..core.models import TaskStatus
from ..core.state import TaskState
from ..core.takeover import shell_line, tmux_window
from ..infra.fsutil import DiskError
from ..infra.session import lock_is_stale, read_lock, submit
from ..infra.store import RunFiles, latest_run_id, load_run, read_events

ANSWER_WAIT_SECONDS = 5.0
STOP_WAIT_SECONDS = 45.0  # the agent gets SIGTERM, SIGKILL after a grace


def main(args: argparse.Namespace) -> int:
    if getattr(args, "done", False):
        return done_main(args)
    workspace = Path(args.workspace)
    task_id = args.task
    run_id = latest_run_id(workspace)
    if run_id is None:
        print(f"no run in {workspace}: nothing to take over", file=sys.stderr)
        return 1
    files = RunFiles(workspace, run_id)
    state, _warnings = load_run(files)
    task = state.tasks.get(task_id)
    if task is None:
        print(f"refused: no task {task_id!r}", file=sys.stderr)
        return 1
    if task.status == TaskStatus.TAKEN_OVER:
        return open_session(task_id, task, args.print)
    if state.finished:
        print(f"refused: run {run_id} has ended ({state.outcome})", file=sys.stderr)
        return 1
    holder = read_lock(workspace)
    if holder is None or lock_is_stale(holder):
        print(f"refused: no engine is running, so no agent runs: {task_id} is {task.status}")
        return 1
    start = files.events.stat().st_size
    try:
        command = submit(workspace, "take", task_id, by="cli")
    except DiskError as exc:
        print(exc.strerror, file=sys.stderr)
        return 1
    answer, taken = wait_for(files, start, command.id, task_id)
    if answer is None:
        print("the engine has not answered yet; `orchestrator-tui take` again to open it")
        return 1
    if not answer.ok:
        print("refused: " + answer.message)
        return 1
    print(answer.message)
    if taken is None:
        print(f"{task_id}'s agent has not stopped yet; `orchestrator-tui take {task_id}` again")
        return 1
    state, _warnings = load_run(files)
    return open_session(task_id, state.tasks[task_id], args.print)


def wait_for(
    files: RunFiles, start: int, command_id: str, task_id: str
) -> tuple[CommandApplied | None, TaskTakenOver | None]:
    """The engine's answer to the command, then the task taken over (its agent stopped)."""
    answer: CommandApplied | None = None
    offset = start
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    while time.monotonic() < deadline:
        read = read_events(files.events, offset)
        offset = read.valid_bytes
        for event in read.events:
            if isinstance(event, CommandApplied) and event.command_id == command_id:
                answer = event
                if not event.ok:
                    return answer, None
                deadline = time.monotonic() + STOP_WAIT_SECONDS
            elif isinstance(event, TaskTakenOver) and event.task == task_id and answer:
                return answer, event
        time.sleep(0.05)
    return answer, None


def open_session(task_id: str, task: TaskState, print_only: bool) -> int:
    takeover = task.takeover
    argv = takeover.command if takeover else ()
    env = takeover.env if takeover else {}
    line = shell_line(task.workdir, argv, env)
    if takeover and takeover.note:
        print(f"{task_id}: {takeover.note}")
    if not print_only and os.environ.get("TMUX") and shutil.which("tmux"):
        window = tmux_window(task.workdir, argv, env, f"take-{task_id}")
        try:
            done = subprocess.run(window, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            print(f"tmux failed ({exc}); run it yourself:")
        else:
            if done.returncode == 0:
                print(f"{task_id} is yours, in tmux window take-{task_id}: {line}")
                print(f"When you have finished: orchestrator-tui done {task_id}")
                return 0
            print(f"tmux failed ({done.stderr.strip()}); run it yourself:")
    print(f"{task_id} is yours. Run:\n  {line}")
    print(f"When you have finished: orchestrator-tui done {task_id}")
    return 0


def done_main(args: argparse.Namespace) -> int:
    """`done TASK`: through the inbox like every command; then what the merge made of it."""
    from . import control

    workspace = Path(args.workspace)
    code = control.main(
        argparse.Namespace(workspace=args.workspace, action="done", task=args.task, feedback="")
    )
    run_id = latest_run_id(workspace)
    if code != 0 or run_id is None:
        return code
    state, _warnings = load_run(RunFiles(workspace, run_id))
    task = state.tasks.get(args.task)
    if task is None or task.status == TaskStatus.TAKEN_OVER:
        return code  # queued: the engine applies it when the run resumes
    print(f"{args.task} is {task.status}: {task.reason}")
    return 0 if task.status == TaskStatus.DONE else 1
