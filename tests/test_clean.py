"""`orchestrator-tui clean` (issue 12, item 8) on a real repository with the leftovers real
runs leave: the branches and worktrees of finished and abandoned runs go; the latest run,
conflicts, work on none of the user's branches, other workspaces' runs and the user's own
branches stay unless told; a dry run removes nothing; a live run makes it refuse."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from runs_support import hold_lock, write_run
from test_workspace import USER_ENV, make_repo, sh

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.clean_plan import branch_run
from orchestrator_tui.core.models import Task
from orchestrator_tui.infra.gitsteps import side
from orchestrator_tui.infra.workspace import GitWorktrees, land_run_branch

LANDED = "20261201-100000-aaaa"  # complete, fast-forwarded onto main
FAILED = "20261201-110000-bbbb"  # failed: T2's worktree and branch left
UNLANDED = "20261201-120000-cccc"  # complete, but main moved on: its result only on orch/
CONFLICT = "20261201-130000-dddd"  # complete with T4 in conflict, and a stray side branch
LATEST = "20261201-140000-eeee"  # stopped: resumable
FOREIGN = "20261130-090000-ffff"  # a branch of a run this workspace has no log of


def cli(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator_tui", "clean", "-C", str(ws), *args],
        capture_output=True, text=True, timeout=60, env=USER_ENV,
    )  # fmt: skip


def branches(ws: Path) -> set[str]:
    return set(sh(ws, "for-each-ref", "--format=%(refname:short)", "refs/heads/").split())


def log(ws: Path, run_id: str, statuses: dict[str, str], outcome: str = "") -> None:
    tasks = tuple(Task(id=t, title=t) for t in statuses)
    events: list[ev.EventBase] = [
        ev.RunStarted(run_id=run_id, workspace=str(ws)),
        ev.PlanFrozen(tasks=tasks, waves=[list(statuses)], critical_path=[]),
    ]
    for task_id, status in statuses.items():
        events.append(ev.TaskStarted(task=task_id, agent="simulated"))
        if status != "running":
            events.append(ev.TaskFinished(task=task_id, status=status))  # type: ignore[arg-type]
    if outcome:
        events.append(ev.RunFinished(outcome=outcome))  # type: ignore[arg-type]
    write_run(ws, run_id, events)


def work(iso: GitWorktrees, task_id: str, name: str, text: str, merge: bool = True) -> bool:
    task = Task(id=task_id, title=task_id)
    (iso.prepare(task, 1) / name).write_text(text)
    return iso.finish(task).ok if merge else True


@dataclass(frozen=True)
class Runs:
    ws: Path
    user: frozenset[str]  # the user's own branches, never touched


@pytest.fixture
def runs(tmp_path: Path) -> Runs:
    ws = make_repo(tmp_path / "ws", {"README.md": "hello\n", "a.txt": "a\n"})
    sh(ws, "branch", "feature")
    sh(ws, "branch", "orch/mine")  # the user's, though it starts with orch/
    landed = GitWorktrees(ws, LANDED)
    assert work(landed, "T1", "one.txt", "1\n")
    assert land_run_branch(ws, LANDED)[0]
    log(ws, LANDED, {"T1": "done"}, "complete")
    failed = GitWorktrees(ws, FAILED)
    assert work(failed, "T1", "two.txt", "2\n")
    work(failed, "T2", "half.txt", "half\n", merge=False)
    log(ws, FAILED, {"T1": "done", "T2": "failed"}, "failed")
    unlanded = GitWorktrees(ws, UNLANDED)
    assert work(unlanded, "T1", "three.txt", "3\n")
    log(ws, UNLANDED, {"T1": "done"}, "complete")
    conflict = GitWorktrees(ws, CONFLICT)
    both = [Task(id="T3", title="T3"), Task(id="T4", title="T4")]
    for number, task in enumerate(both, start=3):
        (conflict.prepare(task, 1) / "a.txt").write_text(f"{number}\n")
    assert conflict.finish(both[0]).ok
    assert conflict.finish(both[1]).conflict_files == ("a.txt",)  # kept for the user
    sh(ws, "branch", side(CONFLICT, 1), f"orch/{CONFLICT}")
    log(ws, CONFLICT, {"T3": "done", "T4": "conflict"}, "complete")
    latest = GitWorktrees(ws, LATEST)
    work(latest, "T5", "five.txt", "5\n", merge=False)
    log(ws, LATEST, {"T5": "running"})
    sh(ws, "branch", f"orch/{FOREIGN}")
    sh(ws, "commit", "-q", "--allow-empty", "-m", "the user moves on")
    return Runs(ws, frozenset({"main", "feature", "orch/mine"}))


def worktree(ws: Path, name: str) -> Path:
    return ws / ".orchestrator" / "worktrees" / name


def test_a_dry_run_lists_what_goes_and_what_stays_and_removes_nothing(runs: Runs) -> None:
    before = branches(runs.ws)
    done = cli(runs.ws, "--dry-run")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    would, _, keeps = out.partition("keeps:")
    assert f"branch orch/{LANDED} (" in would and "of a complete run, merged" in would
    assert f"branch orch/{FAILED} (" in would and "the branch of a failed run" in would
    assert f"branch orch/tasks/{FAILED}/T2 (" in would
    assert "and worktree .orchestrator/worktrees/T2 (1 uncommitted file)" in would
    assert f"orch/{UNLANDED}" in keeps and f"`git merge orch/{UNLANDED}`" in keeps
    assert f"orch/tasks/{CONFLICT}/T4" in keeps and "T4 has a merge conflict" in keeps
    assert f"orch/{CONFLICT} " in keeps and f"orch/stray/{CONFLICT}-1" in keeps
    assert f"orch/tasks/{LATEST}/T5" in keeps and "the latest run, stopped" in keeps
    assert f"orch/{FOREIGN}" in keeps and "no log in this workspace" in keeps
    assert "feature" not in out and "orch/mine" not in out
    assert "run without --dry-run to remove these 3." in out
    assert branches(runs.ws) == before
    assert worktree(runs.ws, "T2").is_dir()


def test_clean_removes_finished_and_abandoned_runs_and_keeps_the_rest(runs: Runs) -> None:
    tips = {b: sh(runs.ws, "rev-parse", b) for b in branches(runs.ws)}
    done = cli(runs.ws)
    assert done.returncode == 0, done.stderr
    gone = {f"orch/{LANDED}", f"orch/{FAILED}", f"orch/tasks/{FAILED}/T2"}
    assert branches(runs.ws) == set(tips) - gone
    for name in gone:
        assert f"removed branch {name} (was {tips[name][:10]})" in done.stdout
    assert not worktree(runs.ws, "T2").exists()
    assert worktree(runs.ws, "T4").is_dir() and worktree(runs.ws, "T5").is_dir()
    assert "removed 3; the runs' logs and reports stay" in done.stdout
    assert (runs.ws / ".orchestrator" / "runs" / FAILED / "events.jsonl").is_file()
    assert not (runs.ws / ".orchestrator" / "lock").exists()  # clean let go of it
    again = cli(runs.ws)
    assert again.returncode == 0 and "nothing removed" in again.stdout


def test_told_so_it_removes_conflicts_and_unmerged_work_but_never_a_resumable_run(
    runs: Runs,
) -> None:
    done = cli(runs.ws, "--all", "--include-conflicts", "--include-unmerged")
    assert done.returncode == 0, done.stderr
    left = branches(runs.ws)
    assert left == {*runs.user, f"orch/{LATEST}", f"orch/tasks/{LATEST}/T5", f"orch/{FOREIGN}"}
    assert not worktree(runs.ws, "T4").exists()
    assert worktree(runs.ws, "_run").is_dir() and worktree(runs.ws, "T5").is_dir()
    assert sh(runs.ws, "worktree", "list", "--porcelain").count("worktree ") == 3


def test_all_takes_the_latest_run_once_it_is_finished(runs: Runs) -> None:
    log(runs.ws, LATEST, {"T5": "failed"}, "failed")
    kept = cli(runs.ws, "--dry-run").stdout
    assert "the latest run (--all removes it too)" in kept
    done = cli(runs.ws, "--all")
    assert done.returncode == 0, done.stderr
    assert not {b for b in branches(runs.ws) if LATEST in b}
    assert not worktree(runs.ws, "T5").exists() and not worktree(runs.ws, "_run").exists()


def test_it_refuses_while_a_run_holds_the_workspace(runs: Runs) -> None:
    before = branches(runs.ws)
    hold_lock(runs.ws, LATEST)
    done = cli(runs.ws)
    assert done.returncode == 3
    assert f"run {LATEST} holds the workspace" in done.stderr and "refuses" in done.stderr
    assert branches(runs.ws) == before
    dry = cli(runs.ws, "--dry-run")
    assert dry.returncode == 0 and "clean would refuse now" in dry.stdout


def test_a_branch_checked_out_outside_our_worktrees_is_left_alone(runs: Runs) -> None:
    sh(runs.ws, "checkout", "-q", f"orch/{LANDED}")
    done = cli(runs.ws)
    assert done.returncode == 0, done.stderr
    assert f"orch/{LANDED}" in branches(runs.ws)
    assert f"checked out in {runs.ws}" in done.stdout


def test_a_directory_git_does_not_know_under_our_worktrees_goes(runs: Runs) -> None:
    stray = worktree(runs.ws, "T9")
    (stray / "sub").mkdir(parents=True)
    (stray / "sub" / "x.txt").write_text("x")
    gone_dir = worktree(runs.ws, "T2")
    subprocess.run(["rm", "-rf", str(gone_dir)], check=True, timeout=30)  # git still lists it
    done = cli(runs.ws)
    assert done.returncode == 0, done.stderr
    assert "removed directory .orchestrator/worktrees/T9" in done.stdout
    assert not stray.exists()
    assert f"orch/tasks/{FAILED}/T2" not in branches(runs.ws)
    assert "T2" not in sh(runs.ws, "worktree", "list")


def test_nothing_to_clean_outside_git_or_without_runs(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    done = cli(plain)
    assert done.returncode == 0 and "nothing to clean" in done.stdout
    repo = make_repo(tmp_path / "repo")
    done = cli(repo)
    assert done.returncode == 0 and "nothing to clean: no worktrees or branches" in done.stdout
    assert cli(tmp_path / "nowhere").returncode == 2


def test_only_our_names_are_ours() -> None:
    assert branch_run(f"orch/{LANDED}") == ("run", LANDED)
    assert branch_run(f"orch/tasks/{LANDED}/T1") == ("task", LANDED)
    assert branch_run(f"orch/stray/{LANDED}-2") == ("stray", LANDED)
    for name in ("main", "orch/mine", "orch/2026-fix", f"orch/{LANDED}/x", f"orch/tasks/{LANDED}"):
        assert branch_run(name) is None


def test_an_abandoned_run_goes_and_a_merged_stray_branch_too() -> None:
    from orchestrator_tui.core.clean_plan import BranchFacts, CleanOptions, RunFacts, plan_clean

    runs = {FAILED: RunFacts(FAILED, "stopped"), LATEST: RunFacts(LATEST, "complete")}
    items = plan_clean(
        runs,
        [
            BranchFacts(f"orch/{FAILED}", "1" * 40, merged=False),
            BranchFacts(side(FAILED, 1), "2" * 40, merged=True),  # the user merged it
            BranchFacts(side(LATEST, 1), "3" * 40, merged=False),
        ],
        [],
        CleanOptions(everything=True),
    )
    abandoned = "an abandoned run (stopped, and a newer run exists)"
    assert [(i.name, i.remove, i.why) for i in items] == [
        (f"orch/{FAILED}", True, f"the branch of {abandoned}"),
        (side(FAILED, 1), True, f"changes kept aside by {abandoned}"),
        (
            side(LATEST, 1),
            False,
            "changes found in a run's checkout, kept aside (--include-unmerged)",
        ),
    ]
