"""The files a run changed, and where to read them as the run left them.

Two cases, one answer (ChangeSet):

- The run's tasks worked in git worktrees merged into the run branch `orch/<run_id>`
  (infra/workspace.py): the changes are the diff between the commit the branch started at
  and the branch, read from the branch's checkout (`.orchestrator/worktrees/_run`, or
  wherever `git worktree list` shows it). A checkout that is gone or half-made is made
  again from the branch first; when that fails the stage fails (GitError) — it never reads
  the user's checkout instead.
- Tasks worked in the workspace itself (no isolation, or no git): the changes are what git
  sees against the run's base (diff plus untracked files), or without git the files the
  tasks reported.

Either way the files the tasks reported (TaskState.changed_files) are added, so nothing a
task wrote is missed. Paths are relative to `root`, POSIX style; `.orchestrator/` and `.git/`
never count.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..core.models import StageName
from ..core.overlap import normalize_path, patterns_may_meet
from ..core.protocols import StageContext
from ..core.state import RunState, TaskState
from ..infra.workspace import run_checkout

GIT_TIMEOUT = 30.0
IGNORED_PREFIXES = (".orchestrator/", ".git/")


@dataclass(frozen=True)
class GitResult:
    ok: bool
    output: str
    error: str = ""


def git(cwd: Path, *args: str, timeout: float = GIT_TIMEOUT) -> GitResult:
    """Run git; any failure (no git, not a repo, a timeout) is a result, never an exception."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        return GitResult(False, "", "git is not installed")
    except subprocess.TimeoutExpired:
        return GitResult(False, "", f"git {args[0]} timed out")
    except OSError as exc:
        return GitResult(False, "", str(exc))
    output = done.stdout.decode("utf-8", errors="replace")
    error = done.stderr.decode("utf-8", errors="replace").strip()
    return GitResult(done.returncode == 0, output, error)


def is_git_repo(path: Path) -> bool:
    result = git(path, "rev-parse", "--is-inside-work-tree")
    return result.ok and result.output.strip() == "true"


def run_branch(run_id: str) -> str:
    return f"orch/{run_id}"


def branch_exists(workspace: Path, branch: str) -> bool:
    return git(workspace, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").ok


def branch_checkout(workspace: Path, branch: str) -> Path | None:
    """The worktree (the workspace itself included) that has `branch` checked out."""
    listing = git(workspace, "worktree", "list", "--porcelain")
    if not listing.ok:
        return None
    current: Path | None = None
    for line in listing.output.splitlines():
        if line.startswith("worktree "):
            current = Path(line.removeprefix("worktree "))
        elif line == f"branch refs/heads/{branch}" and current is not None and current.is_dir():
            return current
    return None


def branch_base(workspace: Path, branch: str) -> str:
    """The commit the branch was created at: the oldest entry of its reflog, else the
    merge base with HEAD."""
    reflog = git(workspace, "reflog", "show", "--format=%H", f"refs/heads/{branch}", "--")
    commits = reflog.output.split() if reflog.ok else []
    if commits:
        return commits[-1]
    merge_base = git(workspace, "merge-base", branch, "HEAD")
    return merge_base.output.strip() if merge_base.ok else ""


def recorded_head(ctx: StageContext) -> str:
    """HEAD when the run began, as the analyze stage recorded it."""
    evidence = ctx.state.stages[StageName.ANALYZE].evidence or {}
    git_info = evidence.get("git") if isinstance(evidence, dict) else None
    head = git_info.get("head", "") if isinstance(git_info, dict) else ""
    return head if isinstance(head, str) else ""


@dataclass(frozen=True)
class ChangeSet:
    """What the run changed. `files` exist under `root`; `deleted` no longer do."""

    root: Path
    files: tuple[str, ...]
    deleted: tuple[str, ...] = ()
    source: str = ""
    base: str = ""
    branch: str = ""
    in_git: bool = False
    problems: tuple[str, ...] = ()

    @property
    def python_files(self) -> list[str]:
        return [f for f in self.files if f.endswith(".py")]

    def diff(self, max_chars: int = 200_000) -> str:
        """The run's diff (git only; new untracked files included), cut to `max_chars`."""
        if not self.in_git or not self.base:
            return ""
        target = [self.branch] if self.branch else []
        result = git(self.root, "diff", "--no-color", "--relative", self.base, *target)
        text = result.output if result.ok else ""
        shown = set(re.findall(r"^diff --git a/(\S+) ", text, re.MULTILINE))
        for name in self.files:
            if len(text) > max_chars:
                break
            if name not in shown:
                new = git(self.root, "diff", "--no-color", "--no-index", "--", "/dev/null", name)
                text += new.output
        if len(text) > max_chars:
            return text[:max_chars] + f"\n[diff cut at {max_chars:,} characters]\n"
        return text


def counted(path: str) -> bool:
    return bool(path) and not any(
        path.startswith(prefix) or path == prefix.rstrip("/") for prefix in IGNORED_PREFIXES
    )


def declares(patterns: Iterable[str], path: str) -> bool:
    """Whether a task's declared `files` (paths or globs) cover `path`."""
    return any(patterns_may_meet(normalize_path(p), normalize_path(path)) for p in patterns)


def plan_tasks(state: RunState) -> list[TaskState]:
    """The run's implement tasks (a stage's own agent is kept apart, in stage_agents)."""
    return list(state.tasks.values())


def stage_agents(state: RunState) -> list[TaskState]:
    return list(state.stage_agents.values())


def task_files(ctx: StageContext) -> set[str]:
    return {f for task in plan_tasks(ctx.state) for f in task.changed_files}


def split_existing(root: Path, paths: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    present, gone = [], []
    for path in sorted({p.replace("\\", "/").removeprefix("./") for p in paths}):
        if not counted(path):
            continue
        (present if (root / path).is_file() else gone).append(path)
    return tuple(present), tuple(gone)


def find_changes(ctx: StageContext) -> ChangeSet:
    """The run's changed files; see the module docstring for how."""
    workspace = ctx.workspace
    reported = task_files(ctx)
    if not is_git_repo(workspace):
        files, deleted = split_existing(workspace, reported)
        return ChangeSet(
            workspace, files, deleted, source="files the tasks reported (no git repository)"
        )
    branch = run_branch(ctx.run_id)
    if branch_exists(workspace, branch):
        return branch_changes(ctx, branch, reported)
    base = recorded_head(ctx) or "HEAD"
    problems: list[str] = []
    diff = git(workspace, "diff", "--name-only", "--no-renames", "--relative", base)
    if not diff.ok and base != "HEAD":
        base = "HEAD"
        diff = git(workspace, "diff", "--name-only", "--no-renames", "--relative", base)
    if not diff.ok:
        problems.append(f"git diff failed: {diff.error or 'no commits yet?'}")
    untracked = git(workspace, "ls-files", "--others", "--exclude-standard")
    names = set(diff.output.splitlines()) | set(untracked.output.splitlines()) | reported
    files, deleted = split_existing(workspace, names)
    return ChangeSet(
        workspace,
        files,
        deleted,
        source=f"the workspace against {short(base)} (diff and untracked files)",
        base=base if diff.ok else "",
        in_git=True,
        problems=tuple(problems),
    )


def branch_changes(ctx: StageContext, branch: str, reported: set[str]) -> ChangeSet:
    workspace = ctx.workspace
    base = branch_base(workspace, branch) or recorded_head(ctx)
    checkout = branch_checkout(workspace, branch)
    if checkout is None or checkout.resolve() != workspace.resolve():
        # _run deleted by hand, or half-made by a kill: made again from the run branch,
        # or the stage fails here (GitError) — never a silent fallback to the workspace
        checkout = run_checkout(workspace, ctx.run_id)
    prefix = git(workspace, "rev-parse", "--show-prefix").output.strip()
    root = checkout / prefix if prefix else checkout
    problems: list[str] = []
    names = set(reported)
    if base:
        diff = git(workspace, "diff", "--name-only", "--no-renames", "--relative", base, branch)
        if diff.ok:
            names |= set(diff.output.splitlines())
        else:
            problems.append(f"git diff {short(base)} {branch} failed: {diff.error}")
    else:
        problems.append(f"could not find where {branch} started")
    files, deleted = split_existing(root, names)
    return ChangeSet(
        root,
        files,
        deleted,
        source=f"the run branch {branch} against {short(base) or '?'}",
        base=base,
        branch=branch,
        in_git=True,
        problems=tuple(problems),
    )


def short(commit: str) -> str:
    return commit[:10] if len(commit) == 40 else commit


def is_text_file(path: Path, sniff: int = 8192) -> bool:
    """Not binary: no NUL byte in its first bytes."""
    try:
        with path.open("rb") as handle:
            return b"\x00" not in handle.read(sniff)
    except OSError:
        return False
