"""What `orchestrator-tui clean` removes and what it keeps, decided from facts (pure).

The leftovers of runs are git branches and worktrees of ours only:

- `orch/<run>`: the run branch, checked out in `.orchestrator/worktrees/_run`;
- `orch/tasks/<run>/<task>`: a task's branch and worktree, left when the task failed or had
  a merge conflict (a merged task's are removed as it merges);
- `orch/stray/<run>-<n>`: changes found in a run's checkout after a crash, kept aside.

The rules, for a user who wants the clutter gone and nothing of value lost:

- only runs this workspace has a log of (`.orchestrator/runs/<run>`): a branch of an
  unknown run may belong to another workspace of the same repository, so it is kept;
- the latest run is kept whole (it may be resumed, or be looked at); `--all` takes it too
  once it is finished — a stopped latest run is still resumable and is always kept;
- a task with a merge conflict keeps its branch, its worktree and its run's branch (what
  it conflicts with) unless `--include-conflicts`;
- work that exists nowhere else is kept unless `--include-unmerged`: the branch of a
  complete run that did not land on any of your branches, and the stray side branches;
- everything else of finished and abandoned (stopped, not the latest) runs goes, with
  each branch's last commit printed so it can be brought back (`git branch NAME SHA`);
- a branch checked out in a worktree that is not ours is never removed, and nothing that
  is not one of the names above is ever looked at. The run's logs and reports stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

RUN_ID = r"\d{8}-\d{6}-[0-9a-f]{4}"
RUN_BRANCH = re.compile(rf"orch/(?P<run>{RUN_ID})")
TASK_BRANCH = re.compile(rf"orch/tasks/(?P<run>{RUN_ID})/(?P<task>[^/]+)")
STRAY_BRANCH = re.compile(rf"orch/stray/(?P<run>{RUN_ID})-(?P<number>\d+)")
FINISHED = ("complete", "failed", "cancelled", "aborted")


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    outcome: str  # complete, failed, cancelled, aborted; "stopped" when not finished
    conflicts: frozenset[str] = frozenset()  # ref components of its tasks in conflict

    @property
    def finished(self) -> bool:
        return self.outcome in FINISHED


@dataclass(frozen=True)
class BranchFacts:
    name: str
    tip: str
    merged: bool  # its tip is on a branch that is not one of ours
    worktree: str = ""  # the worktree that has it checked out ("" none)
    our_worktree: bool = False  # that worktree is under .orchestrator/worktrees/
    uncommitted: int = 0  # files changed in that worktree and not committed (lost with it)


@dataclass(frozen=True)
class CleanOptions:
    everything: bool = False  # --all: the latest run too (once finished)
    conflicts: bool = False  # --include-conflicts
    unmerged: bool = False  # --include-unmerged


@dataclass(frozen=True)
class Leftover:
    """One branch (with its worktree, if it has one of ours) or one stray directory."""

    kind: str  # branch | directory
    name: str  # the branch, or the directory
    run: str
    remove: bool
    why: str  # what it is, or why it is kept
    tip: str = ""
    worktree: str = ""  # our worktree that goes with the branch
    uncommitted: int = 0  # its files not committed: they go with it


def branch_run(name: str) -> tuple[str, str] | None:
    """(kind, run id) of one of our branch names; None for any other branch."""
    for kind, pattern in (("run", RUN_BRANCH), ("task", TASK_BRANCH), ("stray", STRAY_BRANCH)):
        found = pattern.fullmatch(name)
        if found:
            return kind, found["run"]
    return None


def plan_clean(
    runs: Mapping[str, RunFacts],
    branches: Sequence[BranchFacts],
    directories: Sequence[str],
    options: CleanOptions,
) -> tuple[Leftover, ...]:
    """Every leftover, each marked remove or keep with the reason (see the module doc)."""
    latest = max(runs, default="")
    items = []
    for branch in sorted(branches, key=lambda b: b.name):
        mine = branch_run(branch.name)
        if mine is None:
            continue
        kind, run_id = mine
        keep = kept_because(kind, branch, runs.get(run_id), latest, options)
        worktree = branch.worktree if branch.our_worktree else ""
        items.append(
            Leftover(
                "branch",
                branch.name,
                run_id,
                remove=keep is None,
                why=keep or what(kind, branch, runs[run_id]),
                tip=branch.tip,
                worktree=worktree,
                uncommitted=branch.uncommitted if worktree else 0,
            )
        )
    items += [
        Leftover("directory", path, "", True, "not a worktree git knows (left by a crash)")
        for path in directories
    ]
    return tuple(items)


def kept_because(
    kind: str, branch: BranchFacts, run: RunFacts | None, latest: str, options: CleanOptions
) -> str | None:
    """Why this branch of ours stays, or None when it goes."""
    if run is None:
        return "its run has no log in this workspace (another workspace's?): left alone"
    if branch.worktree and not branch.our_worktree:
        return f"checked out in {branch.worktree}"
    if run.run_id == latest:
        if not run.finished:
            return "the latest run, stopped: `orchestrator-tui run` resumes it"
        if not options.everything:
            return "the latest run (--all removes it too)"
    if run.conflicts and not options.conflicts:
        task = TASK_BRANCH.fullmatch(branch.name)
        if kind == "task" and task and task["task"] in run.conflicts:
            return f"{task['task']} has a merge conflict (--include-conflicts)"
        if kind == "run":
            return "its tasks' merge conflicts are against it (--include-conflicts)"
    if not options.unmerged and not branch.merged:
        if kind == "run" and run.outcome == "complete":
            return (
                f"the run's result is on none of your branches: `git merge {branch.name}` "
                "(--include-unmerged)"
            )
        if kind == "stray":
            return "changes found in a run's checkout, kept aside (--include-unmerged)"
    return None


def what(kind: str, branch: BranchFacts, run: RunFacts) -> str:
    if run.finished:
        state = f"{'an' if run.outcome[0] in 'aeiou' else 'a'} {run.outcome} run"
    else:
        state = "an abandoned run (stopped, and a newer run exists)"
    if kind == "run":
        return f"the branch of {state}{', merged' if branch.merged else ''}"
    if kind == "task":
        return f"a task's branch left by {state}"
    return f"changes kept aside by {state}"
