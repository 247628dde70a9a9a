"""The diff of one task, for the `d` key and the detail screen.

Where the work is (core/workspace.py lays it out): once merged, the merge commit on the
run branch `orch/<run>` (TaskMerged.commit) against its first parent; before that, the
task branch `orch/tasks/<run>/<task>` against where it left the run branch, plus what is
not committed yet in the task's worktree. Anything else is "no diff available" with the
reason. Runs git with a timeout: call it from a thread worker, never the UI thread.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from ..core.state import TaskState
from ..infra.workspace import ref_component

GIT_TIMEOUT = 10.0
MAX_DIFF_CHARS = 400_000


def git(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run git; a missing git or a timeout comes back as a failed result, not a raise."""
    argv = ["git", "-C", str(workspace), *args]
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=GIT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(argv, 127, "", str(exc))


def task_branch(run_id: str, task_id: str) -> str:
    return f"orch/tasks/{run_id}/{ref_component(task_id)}"


def run_branch(run_id: str) -> str:
    return f"orch/{run_id}"


def exists(workspace: Path, ref: str) -> bool:
    return git(workspace, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0


def task_diff(workspace: Path, run_id: str, task: TaskState) -> str:
    """The task's changes as a unified diff, or a line saying why there is none."""
    inside = git(workspace, "rev-parse", "--is-inside-work-tree")
    if inside.returncode == 127:
        return f"no diff available: git did not run ({inside.stderr.strip()})"
    if inside.returncode != 0:
        return "no diff available: the workspace is not a git repository"
    merges = merged_attempts(workspace, task)
    if merges:
        return clip("\n".join(merges))
    parts: list[str] = []
    branch = task_branch(run_id, task.id)
    if exists(workspace, branch):
        base = run_branch(run_id) if exists(workspace, run_branch(run_id)) else "HEAD"
        committed = git(workspace, "diff", "--stat", "--patch", f"{base}...{branch}")
        if committed.returncode == 0 and committed.stdout.strip():
            parts.append(f"committed on {branch}\n\n{committed.stdout}")
    workdir = Path(task.workdir) if task.workdir else None
    if workdir and workdir.is_dir() and workdir.resolve() != workspace.resolve():
        status = git(workdir, "status", "--short")
        changes = git(workdir, "diff", "--stat", "--patch", "HEAD")
        if status.returncode == 0 and status.stdout.strip():
            parts.append(f"not committed yet in {workdir}\n\n{status.stdout}\n{changes.stdout}")
    if parts:
        return clip("\n".join(parts))
    if task.status in ("pending", "ready"):
        return "no diff available: the task has not run yet"
    return f"no diff available: no merge commit, branch {branch} or worktree changes found"


def merged_attempts(workspace: Path, task: TaskState) -> list[str]:
    """Each merge of the task (every attempt that merged, oldest first) as its diff, so a
    rerun's small fix shows beside the first attempt's feature."""
    commits = list(task.commits) or ([task.commit] if task.commit else [])
    shown = []
    for number, commit in enumerate(commits, start=1):
        is_sha = re.fullmatch(r"[0-9a-f]{7,64}", commit) is not None  # never an option
        if not is_sha or not exists(workspace, f"{commit}^1"):
            continue
        merged = git(workspace, "diff", "--stat", "--patch", f"{commit}^1", commit)
        if merged.returncode == 0 and merged.stdout.strip():
            label = f"merge {number} of {len(commits)}: " if len(commits) > 1 else ""
            shown.append(f"{label}merged as {commit}\n\n{merged.stdout}")
    return shown


def clip(text: str) -> str:
    if len(text) <= MAX_DIFF_CHARS:
        return text
    return text[:MAX_DIFF_CHARS] + f"\n… diff cut at {MAX_DIFF_CHARS:,} characters"
