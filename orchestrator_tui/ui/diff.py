"""The diff of one task, for the `d` key and the detail screen.

Where the work is, in order: the commit its merge made (TaskMerged), its branch
`orch/<run>/<task>` against the point where it left the run's base, its worktree's
uncommitted changes. Anything else is "no diff available" with the reason. Runs git with
a timeout; call it from a thread worker, never from the UI thread.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..core.state import TaskState
from ..core.store import safe_name

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
    return f"orch/{run_id}/{safe_name(task_id)}"


def task_diff(workspace: Path, run_id: str, task: TaskState) -> str:
    """The task's changes as a unified diff, or a line saying why there is none."""
    inside = git(workspace, "rev-parse", "--is-inside-work-tree")
    if inside.returncode == 127:
        return f"no diff available: git did not run ({inside.stderr.strip()})"
    if inside.returncode != 0:
        return "no diff available: the workspace is not a git repository"
    attempts: list[tuple[str, ...]] = []
    if task.commit:
        attempts.append(("show", "--stat", "--patch", "--format=commit %H%n%s%n", task.commit))
    branch = task_branch(run_id, task.id)
    if git(workspace, "rev-parse", "--verify", "--quiet", branch).returncode == 0:
        attempts.append(("diff", "--stat", "--patch", f"HEAD...{branch}"))
    for args in attempts:
        result = git(workspace, *args)
        if result.returncode == 0 and result.stdout.strip():
            return clip(result.stdout)
    workdir = Path(task.workdir) if task.workdir else None
    if workdir and workdir.resolve() != workspace.resolve() and workdir.is_dir():
        result = git(workdir, "diff", "--stat", "--patch", "HEAD")
        if result.returncode == 0 and result.stdout.strip():
            return clip("uncommitted changes in " + str(workdir) + "\n\n" + result.stdout)
    if task.status in ("pending", "ready"):
        return "no diff available: the task has not run yet"
    return f"no diff available: no commit, branch {branch} or worktree changes found"


def clip(text: str) -> str:
    if len(text) <= MAX_DIFF_CHARS:
        return text
    return text[:MAX_DIFF_CHARS] + f"\n… diff cut at {MAX_DIFF_CHARS:,} characters"
