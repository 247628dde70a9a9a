"""The facts `orchestrator-tui clean` decides on, read from git and the runs' logs, and the
removal itself (core/clean_plan.py decides what goes).

Only our names are ever read or removed: branches `orch/<run>`, `orch/tasks/<run>/*`,
`orch/stray/<run>-<n>` and worktrees under `.orchestrator/worktrees/`. A worktree goes
with `git worktree remove --force --force` (its files are the task's, committed on its
branch or unwanted), then its branch with `git branch -D`; `git worktree prune` forgets
worktrees whose directory is gone.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..core.clean_plan import BranchFacts, Leftover, RunFacts, branch_run
from ..core.models import TaskStatus
from .git import GitError, git
from .run_index import read_run, run_ids
from .store import RunFiles, orchestrator_dir
from .workspace import ref_component, worktree_branches


def worktrees_root(workspace: Path) -> Path:
    return orchestrator_dir(workspace).resolve() / "worktrees"


def run_facts(workspace: Path) -> dict[str, RunFacts]:
    """Each run this workspace has a log of: how it ended, its tasks in conflict."""
    facts = {}
    for run_id in run_ids(workspace):
        state = read_run(RunFiles(workspace, run_id)).state
        conflicts = frozenset(
            ref_component(task_id)
            for task_id, task in state.tasks.items()
            if task.status == TaskStatus.CONFLICT
        )
        facts[run_id] = RunFacts(run_id, state.outcome or "stopped", conflicts)
    return facts


def branch_facts(workspace: Path) -> list[BranchFacts]:
    """Our branches: their tips, whether one of the user's branches holds them, and the
    worktree each is checked out in."""
    listing = git(
        workspace, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/orch/"
    ).stdout
    ours = [line.split(" ", 1) for line in listing.splitlines() if " " in line]
    ours = [(name, tip) for name, tip in ours if branch_run(name) is not None]
    if not ours:
        return []
    checked_out = {b: p for p, b in worktree_branches(workspace).items() if b}
    root = worktrees_root(workspace)
    found = []
    for name, tip in ours:
        place = checked_out.get(name)
        ours = place is not None and place.is_relative_to(root)
        found.append(
            BranchFacts(
                name=name,
                tip=tip,
                merged=on_a_user_branch(workspace, tip),
                worktree=str(place) if place else "",
                our_worktree=ours,
                uncommitted=uncommitted(place) if place is not None and ours else 0,
            )
        )
    return found


def uncommitted(worktree: Path) -> int:
    """How many files are changed and not committed in `worktree` (0 when it is gone)."""
    if not worktree.is_dir():
        return 0
    status = git(worktree, "status", "--porcelain", "--untracked-files=all", check=False)
    return len(status.stdout.splitlines()) if status.returncode == 0 else 0


def on_a_user_branch(workspace: Path, tip: str) -> bool:
    holders = git(
        workspace, "for-each-ref", "--contains", tip, "--format=%(refname:short)", "refs/heads/"
    ).stdout.split()
    return any(branch_run(name) is None for name in holders)


def stray_directories(workspace: Path) -> list[str]:
    """Directories under .orchestrator/worktrees/ that git does not know as a worktree."""
    root = worktrees_root(workspace)
    if not root.is_dir():
        return []
    known = set(worktree_branches(workspace))
    return sorted(str(p) for p in root.iterdir() if p.is_dir() and p.resolve() not in known)


@dataclass(frozen=True)
class Removed:
    item: Leftover
    error: str = ""  # why it could not be removed ("" when it was)


def remove(workspace: Path, items: list[Leftover]) -> list[Removed]:
    """Remove the leftovers marked so: worktrees first, then their branches."""
    root = worktrees_root(workspace)
    done = []
    for item in items:
        if not item.remove:
            continue
        try:
            if item.kind == "directory":
                path = Path(item.name).resolve()
                if not path.is_relative_to(root) or path == root:
                    raise GitError(f"refusing to remove {path}: not under {root}")
                shutil.rmtree(path)
            else:
                if item.worktree and Path(item.worktree).is_dir():
                    git(workspace, "worktree", "remove", "--force", "--force", item.worktree)
                elif item.worktree:  # its directory went away: git forgets it
                    git(workspace, "worktree", "prune", check=False)
                git(workspace, "branch", "-D", item.name)
        except (GitError, OSError) as exc:
            done.append(Removed(item, str(exc)))
            continue
        done.append(Removed(item))
    git(workspace, "worktree", "prune", check=False)
    return done
