"""Git worktrees: each implement task works on its own branch, and its work merges back.

GitWorktrees is the TaskIsolation of a git workspace. For run R:

- The run branch `orch/R` starts at the workspace's HEAD the first time a task is prepared.
  It collects the run's work and stays checked out in `.orchestrator/worktrees/_run`, where
  the merges happen — the user's own checkout is never touched.
- Task T runs in `.orchestrator/worktrees/<T>` on branch `orch/tasks/R/<T>` (T made safe for
  paths and ref names), created from the run branch's head at the time T starts. T starts
  only after its dependencies finished and merged, so it sees their work.
- When T's agent succeeds, its changes are committed in its worktree ("T: title") and merged
  into the run branch (`--no-ff`, "Merge T: title"), in the order tasks finish, which respects
  the dependency order. A conflict aborts the merge and keeps T's worktree and branch for
  the user (MergeResult.conflict_files). A clean merge removes both.
- Files listed in `run.copy_into_worktrees` (e.g. `.env`) are copied into each new worktree
  when present and untracked; they are never committed.
- `.orchestrator/` is listed in `.git/info/exclude`, so no checkout sees it as untracked.
- Resume: preparing a task whose worktree or branch is left from a crash recreates them
  fresh from the run branch; finishing a task whose branch is already merged (or gone)
  succeeds without merging twice.

At the end of a run the result is the run branch `orch/R` (still checked out in `_run`):
nothing is merged into the user's branch behind their back. `land_run_branch` fast-forwards
the user's branch to it when that is safe (their branch has not moved and their checkout
has no changes in the files it would update); otherwise the user merges it with
`git merge orch/R`. Commits are made as "orchestrator-tui", without hooks or signing.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from ..core.models import Task
from ..core.protocols import MergeResult
from .git import GIT_TIMEOUT, IDENTITY, QUIET_CONFIG, GitError, clear_stale_locks, git, git_env
from .gitsteps import (
    attempt_trailer,
    merge_files,
    merge_of,
    merged_attempt,
    reconcile_checkout,
    set_aside_changes,
)
from .store import orchestrator_dir, safe_name

RUN_WORKTREE = "_run"
__all__ = ["GIT_TIMEOUT", "IDENTITY", "QUIET_CONFIG", "GitError", "git", "git_env"]


def worktree_problem(workspace: Path) -> str:
    """Why this workspace cannot have worktrees ("" when it can)."""
    try:
        inside = git(workspace, "rev-parse", "--is-inside-work-tree", check=False)
    except GitError as exc:
        return str(exc)
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return f"{workspace} is not in a git repository"
    if git(workspace, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode:
        return "the git repository has no commit yet (commit once, or set run.isolation = none)"
    return ""


def ref_component(task_id: str) -> str:
    """A task ID as one path and ref-name component (git check-ref-format rules)."""
    name = safe_name(task_id).replace("..", "_")
    while name.endswith((".", ".lock")):
        name = name.removesuffix(".lock").rstrip(".") or "_"
    return "_task" if name == RUN_WORKTREE else name


def branch_exists(cwd: Path, branch: str) -> bool:
    probe = git(cwd, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return probe.returncode == 0


def rev(cwd: Path, name: str) -> str:
    return git(cwd, "rev-parse", "--verify", f"{name}^{{commit}}").stdout.strip()


def is_ancestor(cwd: Path, older: str, newer: str) -> bool:
    return git(cwd, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def worktree_branches(cwd: Path) -> dict[Path, str]:
    """Every registered worktree and the branch it has checked out ("" when detached)."""
    listing = git(cwd, "worktree", "list", "--porcelain").stdout
    found: dict[Path, str] = {}
    current: Path | None = None
    for line in listing.splitlines():
        if line.startswith("worktree "):
            current = Path(line.removeprefix("worktree ")).resolve()
            found[current] = ""
        elif line.startswith("branch ") and current is not None:
            found[current] = line.removeprefix("branch refs/heads/")
    return found


@dataclass(frozen=True)
class TaskPlace:
    """Where one task works: its worktree, its branch, and its directory in there."""

    worktree: Path
    branch: str
    workdir: Path


class GitWorktrees:
    """TaskIsolation with a git worktree per task; see the module docstring."""

    def __init__(self, workspace: Path, run_id: str, copy_files: tuple[str, ...] = ()) -> None:
        if not run_id or run_id == "tasks":
            raise ValueError(f"unusable run id for a branch name: {run_id!r}")
        self.workspace = workspace.resolve()
        self.run_id = run_id
        self.copy_files = tuple(copy_files)
        self.root = orchestrator_dir(self.workspace) / "worktrees"
        self.run_branch = f"orch/{run_id}"
        self.lock = threading.RLock()
        self.prefix = ""
        self.merge_dir: Path | None = None
        self.attempts: dict[str, int] = {}
        self.recovered: list[str] = []  # what reconciling after a crash did, for the log

    # ---- the run branch -------------------------------------------------------------

    def ensure_run(self) -> Path:
        """The run branch and the worktree where merges happen (made on first use)."""
        if self.merge_dir is not None and self.merge_dir.is_dir():
            return self.merge_dir
        problem = worktree_problem(self.workspace)
        if problem:
            raise GitError(problem)
        self.prefix = git(self.workspace, "rev-parse", "--show-prefix").stdout.strip()
        self.exclude_orchestrator_dir()
        git(self.workspace, "worktree", "prune", check=False)
        if not branch_exists(self.workspace, self.run_branch):
            git(self.workspace, "branch", self.run_branch, "HEAD")
        checked_out = {b: p for p, b in worktree_branches(self.workspace).items() if b}
        place = checked_out.get(self.run_branch)
        if place is not None and place.is_dir():
            if self.inside(self.root, place):  # ours, from before a crash: repair it
                self.recovered += reconcile_checkout(self.workspace, place)
        else:
            place = self.root / RUN_WORKTREE
            clear_stale_locks(self.workspace)
            self.remove_worktree(place)
            self.root.mkdir(parents=True, exist_ok=True)
            git(self.workspace, "worktree", "add", "--quiet", str(place), self.run_branch)
        self.merge_dir = place
        return place

    def exclude_orchestrator_dir(self) -> None:
        common = git(self.workspace, "rev-parse", "--git-common-dir").stdout.strip()
        exclude = (self.workspace / common).resolve() / "info" / "exclude"
        pattern = f"/{self.prefix}{orchestrator_dir(Path()).name}/"
        try:
            lines = exclude.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        if pattern not in lines:
            exclude.parent.mkdir(parents=True, exist_ok=True)
            with exclude.open("a", encoding="utf-8") as handle:
                if lines and lines[-1] != "":
                    handle.write("\n")
                handle.write(f"# orchestrator-tui: its runs and worktrees\n{pattern}\n")

    def run_head(self) -> str:
        return rev(self.workspace, self.run_branch)

    # ---- tasks ----------------------------------------------------------------------

    def place(self, task: Task) -> TaskPlace:
        component = ref_component(task.id)
        worktree = self.root / component
        return TaskPlace(
            worktree=worktree,
            branch=f"orch/tasks/{self.run_id}/{component}",
            workdir=worktree / self.prefix if self.prefix else worktree,
        )

    def prepare(self, task: Task, attempt: int) -> Path:
        """A fresh worktree for `task` at the run branch's head; returns where to work."""
        with self.lock:
            self.ensure_run()
            place = self.place(task)
            self.remove_worktree(place.worktree)
            if branch_exists(self.workspace, place.branch):
                git(self.workspace, "branch", "-D", place.branch)
            git(
                self.workspace,
                "worktree",
                "add",
                "--quiet",
                "-b",
                place.branch,
                str(place.worktree),
                self.run_branch,
            )
            self.copy_untracked(place.workdir)
            self.attempts[task.id] = attempt
            return place.workdir

    def finish(self, task: Task, ended_at: float | None = None) -> MergeResult:
        """Commit the task's work and merge it into the run branch."""
        with self.lock:
            merge_dir = self.ensure_run()
            place = self.place(task)
            if not branch_exists(self.workspace, place.branch):
                self.remove_worktree(place.worktree)
                return MergeResult(ok=True, commit=self.run_head(), message="already merged")
            if place.worktree.is_dir():
                self.commit_work(task, place)
            tip = rev(self.workspace, place.branch)
            if is_ancestor(self.workspace, tip, self.run_branch):  # no work, or merged before
                self.discard(task)
                commit = merge_of(self.workspace, self.run_branch, tip)
                files = merge_files(self.workspace, commit) if commit else ()
                return MergeResult(
                    ok=True, commit=commit, files=files, message="nothing new to merge"
                )
            base = git(self.workspace, "merge-base", self.run_branch, tip).stdout.strip()
            files = self.changed_files(base, tip)
            if merge_dir == self.root / RUN_WORKTREE:
                self.set_aside_stray_changes(merge_dir)
            message = f"Merge {task.id}: {task.title}"
            if task.id in self.attempts:
                trailer = attempt_trailer(self.run_id, task.id, self.attempts[task.id])
                message += f"\n\n{trailer}"
            merged = self.merge(merge_dir, message, tip)
            if merged.returncode != 0:
                return self.merge_failed(merge_dir, merged, files)
            commit = rev(merge_dir, "HEAD")
            self.discard(task)
            return MergeResult(ok=True, commit=commit, files=files)

    def merge(self, merge_dir: Path, message: str, tip: str) -> subprocess.CompletedProcess[str]:
        """`git merge --no-ff`; a failure that is not a conflict (a leftover of a crash,
        a lock) is repaired and the merge tried once more — the agent never runs again
        for it."""
        argv = ("merge", "--no-ff", "--no-edit", "-m", message, tip)
        merged = git(merge_dir, *argv, check=False)
        if merged.returncode == 0 or self.conflicted(merge_dir):
            return merged
        git(merge_dir, "merge", "--abort", check=False)
        self.recovered += reconcile_checkout(self.workspace, merge_dir)
        self.set_aside_stray_changes(merge_dir)
        return git(merge_dir, *argv, check=False)

    @staticmethod
    def conflicted(merge_dir: Path) -> bool:
        unmerged = git(merge_dir, "diff", "--name-only", "--diff-filter=U", check=False)
        return bool(unmerged.stdout.strip())

    def merged_attempt(self, task: Task, attempt: int) -> MergeResult | None:
        """When attempt `attempt` of `task` is merged already (the process was killed after
        the merge, before it recorded the task finished): its merge, and the task's
        leftovers are removed. None when that attempt's work is not on the run branch."""
        with self.lock:
            if not branch_exists(self.workspace, self.run_branch):
                return None
            trailer = attempt_trailer(self.run_id, task.id, attempt)
            commit = merged_attempt(self.workspace, self.run_branch, trailer)
            if not commit:
                return None
            self.discard(task)
            files = merge_files(self.workspace, commit)
            return MergeResult(ok=True, commit=commit, files=files, message="merged before")

    def discard(self, task: Task) -> None:
        """Remove the task's worktree and branch (its work is merged, or unwanted)."""
        with self.lock:
            place = self.place(task)
            self.remove_worktree(place.worktree)
            if branch_exists(self.workspace, place.branch):
                git(self.workspace, "branch", "-D", place.branch, check=False)

    # ---- helpers ----------------------------------------------------------------------

    def commit_work(self, task: Task, place: TaskPlace) -> None:
        """Commit everything the agent left in the worktree, except copied-in files."""
        workdir = place.workdir if place.workdir.is_dir() else place.worktree
        excluded = [f":(exclude,literal){path}" for path in self.untracked_copies(workdir)]
        git(workdir, "add", "-A", "--", ".", *excluded)
        staged = git(workdir, "diff", "--cached", "--quiet", check=False)
        if staged.returncode != 0:
            git(workdir, "commit", "--quiet", "--no-verify", "-m", f"{task.id}: {task.title}")

    def set_aside_stray_changes(self, merge_dir: Path) -> None:
        """Changes someone (or a killed git) left in the run branch's checkout would stop
        the merge, and are nobody's reviewed work: keep them on a side branch, never on
        the run branch."""
        kept = set_aside_changes(self.workspace, merge_dir, self.run_id)
        if kept:
            self.recovered.append(f"changes found in {merge_dir} kept on branch {kept}")

    def merge_failed(
        self, merge_dir: Path, merged: subprocess.CompletedProcess[str], files: tuple[str, ...]
    ) -> MergeResult:
        unmerged = git(merge_dir, "diff", "--name-only", "--diff-filter=U", check=False)
        conflicts = tuple(sorted(set(unmerged.stdout.split())))
        git(merge_dir, "merge", "--abort", check=False)
        words = (merged.stdout + merged.stderr).strip().splitlines()
        detail = words[-1] if words else f"exit {merged.returncode}"
        if conflicts:
            message = "merge conflict in " + ", ".join(conflicts)
            return MergeResult(ok=False, conflict_files=conflicts, files=files, message=message)
        return MergeResult(ok=False, files=files, message=f"merge failed: {detail}")

    def changed_files(self, base: str, tip: str) -> tuple[str, ...]:
        """Files the task changed, relative to the workspace (all of them when the
        workspace is the repository's top)."""
        diff = git(self.workspace, "diff", "--name-only", "--no-renames", "--relative", base, tip)
        return tuple(sorted(line for line in diff.stdout.splitlines() if line))

    def copy_untracked(self, workdir: Path) -> None:
        for relative in self.copy_files:
            source = self.workspace / relative
            target = workdir / relative
            if not source.exists() or target.exists() or not self.inside(workdir, target):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True)
            else:
                shutil.copy2(source, target)

    def untracked_copies(self, workdir: Path) -> list[str]:
        """The copy-in paths that the repository does not track (never to be committed)."""
        found = []
        for relative in self.copy_files:
            if not (workdir / relative).exists():
                continue
            tracked = git(workdir, "ls-files", "--error-unmatch", "--", relative, check=False)
            if tracked.returncode != 0:
                found.append(relative)
        return found

    @staticmethod
    def inside(root: Path, path: Path) -> bool:
        return path.resolve().is_relative_to(root.resolve())

    def remove_worktree(self, path: Path) -> None:
        """Unregister and delete a worktree of ours (only ever under .orchestrator/)."""
        if not self.inside(self.root, path) or path.resolve() == self.root.resolve():
            raise GitError(f"refusing to remove {path}: not one of our worktrees")
        registered = path.resolve() in worktree_branches(self.workspace)
        if registered:
            git(self.workspace, "worktree", "remove", "--force", "--force", str(path), check=False)
        if path.exists():
            shutil.rmtree(path, ignore_errors=True)
        if registered or path.exists():
            git(self.workspace, "worktree", "prune", check=False)


def run_checkout(workspace: Path, run_id: str) -> Path:
    """The run branch's checkout, repaired or made again when it is gone (a stage must
    read the run's tree, never the user's checkout instead). Raises GitError."""
    return GitWorktrees(workspace, run_id).ensure_run()


def land_run_branch(workspace: Path, run_id: str) -> tuple[bool, str]:
    """Fast-forward the user's checked-out branch to the run branch when that is safe:
    the branch is an ancestor of `orch/<run_id>` (it has not moved on its own) and git can
    update the checkout without touching local changes. Returns (landed, what happened)."""
    branch = f"orch/{run_id}"
    if not branch_exists(workspace, branch):
        return False, f"there is no branch {branch}"
    head = git(workspace, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if head.returncode != 0:
        return False, f"HEAD is detached: merge the run's work with `git merge {branch}`"
    current = head.stdout.strip()
    clear_stale_locks(workspace)  # a killed git's index.lock or refs/heads/main.lock
    if not is_ancestor(workspace, "HEAD", branch):
        return False, f"{current} has moved on: merge the run's work with `git merge {branch}`"
    moved = git(workspace, "merge", "--ff-only", "--quiet", branch, check=False)
    if moved.returncode != 0:
        words = (moved.stderr or moved.stdout).strip().splitlines()
        detail = words[0] if words else f"exit {moved.returncode}"
        return False, f"could not fast-forward {current} ({detail}): run `git merge {branch}`"
    return landing_checked(workspace, current, branch)


def landing_checked(workspace: Path, current: str, branch: str) -> tuple[bool, str]:
    """After the fast-forward: is the user's branch really at the run branch? (A git that
    failed half-way must not pass for a landing.)"""
    at = git(workspace, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    want = rev(workspace, branch)
    if at.stdout.strip() != want:
        return False, (
            f"{current} is at {at.stdout.strip()[:10] or '?'}, not at {branch} ({want[:10]}) "
            f"after the fast-forward: run `git merge --ff-only {branch}`"
        )
    return True, f"{current} fast-forwarded to {branch}"
