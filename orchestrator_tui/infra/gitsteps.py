"""Reconciling a checkout of ours with what git actually holds after a crash.

A resume cannot know how far the killed process got inside a git command, so before it
uses the run branch's checkout (`_run`) again it looks, and repairs what a kill leaves:

- stale lock files (infra/git.py `clear_stale_locks`);
- a worktree still marked "initializing" (`git worktree add` was killed): the mark goes;
- a checkout with no index (killed after `worktree add` set HEAD, before it checked the
  files out): read back from the branch with `git reset --hard` — its files are exactly
  the branch's, nothing of anyone's is in there yet. Committing it as it is would commit
  the deletion of every file (bug D);
- a merge left half-made (MERGE_HEAD): aborted; the merge is done again from the task's
  branch, which is still there because the task was not recorded as merged.

Changes found in `_run` after that are never committed onto the run branch: they are kept
on a side branch `orch/stray/<run>-<n>` (a commit whose parent is the run branch's head)
and the checkout is reset, so nothing is lost and nothing unreviewed lands.

A task's merge commit carries a trailer naming the run, the task and the attempt, so a
resume can tell "this attempt's work is already on the run branch" from "this task ran
before" (bug G: the agent must not run again for work that is merged).
"""

from __future__ import annotations

from pathlib import Path

from .git import GitError, clear_stale_locks, git

TRAILER = "Orchestrator-Task"


def git_path(checkout: Path, name: str) -> Path:
    done = git(checkout, "rev-parse", "--git-path", name)
    return (checkout / done.stdout.strip()).resolve()


def reconcile_checkout(workspace: Path, checkout: Path) -> list[str]:
    """Repair a checkout of ours after a crash (see the module docstring); returns what
    was done, one line each."""
    done = [f"removed stale {path.name} in {path.parent}" for path in clear_stale_locks(workspace)]
    if not (checkout / ".git").exists():
        return done
    try:
        locked = git_path(checkout, "locked")
        if locked.is_file() and "initializing" in locked.read_text(errors="replace"):
            locked.unlink()
            done.append(f"{checkout.name}: its creation was interrupted")
        if not git_path(checkout, "index").is_file():
            git(checkout, "reset", "--quiet", "--hard", "HEAD")
            done.append(f"{checkout.name}: checked out again (its files were never written)")
        if git_path(checkout, "MERGE_HEAD").is_file():
            aborted = git(checkout, "merge", "--abort", check=False)
            if aborted.returncode != 0:
                git(checkout, "reset", "--quiet", "--merge")
            done.append(f"{checkout.name}: aborted a merge left half-made")
    except (GitError, OSError) as exc:
        done.append(f"{checkout.name}: could not check it: {exc}")
    return done


def has_changes(checkout: Path) -> bool:
    status = git(checkout, "status", "--porcelain", "--untracked-files=all")
    return bool(status.stdout.strip())


def set_aside_changes(workspace: Path, checkout: Path, run_id: str) -> str:
    """Keep whatever is changed in `checkout` on a side branch and reset the checkout;
    returns the side branch ("" when there was nothing)."""
    if not has_changes(checkout):
        return ""
    git(checkout, "add", "-A")
    tree = git(checkout, "write-tree").stdout.strip()
    message = f"orchestrator-tui: changes found in the run branch's checkout ({run_id})"
    commit = git(checkout, "commit-tree", tree, "-p", "HEAD", "-m", message).stdout.strip()
    number = 1
    while git(workspace, "rev-parse", "--verify", "--quiet", side(run_id, number), check=False) \
            .returncode == 0:  # fmt: skip
        number += 1
    git(workspace, "branch", side(run_id, number), commit)
    git(checkout, "reset", "--quiet", "--hard", "HEAD")
    git(checkout, "clean", "--quiet", "-fd")
    return side(run_id, number)


def side(run_id: str, number: int) -> str:
    return f"orch/stray/{run_id}-{number}"


def attempt_trailer(run_id: str, task_id: str, attempt: int) -> str:
    return f"{TRAILER}: {run_id}/{task_id}#{attempt}"


def merged_attempt(workspace: Path, run_branch: str, trailer: str) -> str:
    """The commit on the run branch's first-parent line that carries `trailer` ('' when
    none: that attempt's work was never merged)."""
    log = git(
        workspace, "log", "--first-parent", "--format=%H%x00%B%x01", run_branch, "--", check=False
    )
    if log.returncode != 0:
        return ""
    for entry in log.stdout.split("\x01"):
        commit, _, body = entry.strip().partition("\x00")
        if trailer in body.splitlines():
            return commit
    return ""


def merge_of(workspace: Path, run_branch: str, tip: str) -> str:
    """The commit on the run branch's first-parent line that brought `tip` (a task branch's
    tip, already on the run branch: merged before a crash) in. '' when `tip` is on that
    line itself: the task made no commit of its own, so no merge of the run is its work."""
    line = git(workspace, "rev-list", "--first-parent", run_branch, check=False).stdout.split()
    if tip in line or not line:
        return ""

    def holds(index: int) -> bool:
        older = git(workspace, "merge-base", "--is-ancestor", tip, line[index], check=False)
        return older.returncode == 0

    newest, oldest = 0, len(line) - 1  # newest first: every commit up to the merge holds it
    if not holds(newest):
        return ""
    while newest < oldest:  # the oldest commit that holds it is the merge
        middle = (newest + oldest + 1) // 2
        newest, oldest = (middle, oldest) if holds(middle) else (newest, middle - 1)
    return line[newest]


def merge_files(workspace: Path, commit: str) -> tuple[str, ...]:
    """The files a merge commit brought in (against its first parent)."""
    diff = git(
        workspace,
        "diff",
        "--name-only",
        "--no-renames",
        "--relative",
        f"{commit}^1",
        commit,
        check=False,
    )
    return tuple(sorted(line for line in diff.stdout.splitlines() if line))
