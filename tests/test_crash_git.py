"""Crash leftovers in git, one test per bug of issue 12 (D, E, F, G, J and A/B/C): each plants
what a kill inside a git command leaves, then does what a resume does."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from stage_support import RUN_ID, context, git_repo
from test_workspace import make_repo, sh, task

from orchestrator_tui.core.models import StageName
from orchestrator_tui.infra.git import clear_stale_locks, lock_is_stale
from orchestrator_tui.infra.workspace import GitWorktrees, land_run_branch
from orchestrator_tui.stages.changes import find_changes
from orchestrator_tui.stages.cleanup import CleanupRunner
from orchestrator_tui.stages.tools import tool_argv

RUN = "20260101-120000-abcd"
FILES = {"README.md": "hello\n", "pkg/a.py": "A = 1\n", ".gitignore": "*.pyc\n"}
UNTIDY = "def f( a ):\n  return a\n"
TIDY = "def f(a):\n    return a\n"


def old(path: Path) -> Path:
    """Make a planted lock file look like a leftover (older than a live git's)."""
    stamp = time.time() - 60
    os.utime(path, (stamp, stamp))
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", FILES)


def run_dir(repo: Path) -> Path:
    return repo / ".orchestrator" / "worktrees" / "_run"


def work(iso: GitWorktrees, task_id: str, name: str, text: str, attempt: int = 1) -> None:
    workdir = iso.prepare(task(task_id), attempt)
    (workdir / name).write_text(text)


def test_d_a_half_created_run_checkout_never_commits_the_deletion_of_every_file(
    repo: Path,
) -> None:
    sh(repo, "branch", f"orch/{RUN}")
    run_dir(repo).parent.mkdir(parents=True)
    # killed inside `git worktree add`: HEAD set, no index, no files
    sh(repo, "worktree", "add", "--no-checkout", str(run_dir(repo)), f"orch/{RUN}")
    iso = GitWorktrees(repo, RUN)
    work(iso, "T1", "new.txt", "new\n")
    assert iso.finish(task("T1")).ok
    tree = sh(repo, "ls-tree", "-r", "--name-only", f"orch/{RUN}").split()
    assert sorted(tree) == sorted([*FILES, "new.txt"])
    assert "left in the run branch" not in sh(repo, "log", "--format=%s", f"orch/{RUN}")


def test_d_stray_changes_in_the_run_checkout_go_to_a_side_branch_not_the_run_branch(
    repo: Path,
) -> None:
    iso = GitWorktrees(repo, RUN)
    work(iso, "T1", "one.txt", "1\n")
    assert iso.finish(task("T1")).ok
    (run_dir(repo) / "README.md").unlink()
    (run_dir(repo) / "stray.txt").write_text("someone's\n")
    work(iso, "T2", "two.txt", "2\n")
    assert iso.finish(task("T2")).ok
    tree = sh(repo, "ls-tree", "-r", "--name-only", f"orch/{RUN}").split()
    assert "README.md" in tree and "stray.txt" not in tree
    side = sh(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads/orch/stray/")
    assert side == f"orch/stray/{RUN}-1"
    assert sh(repo, "show", f"{side}:stray.txt") == "someone's"


def test_a_a_half_made_merge_in_the_run_checkout_is_aborted_on_resume(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    work(iso, "T1", "one.txt", "1\n")
    assert iso.finish(task("T1")).ok
    # an unrelated branch merged with --no-commit: MERGE_HEAD left behind by a kill
    sh(repo, "branch", "side", "main")
    side = repo / "side"
    sh(repo, "worktree", "add", "-q", str(side), "side")
    (side / "x.txt").write_text("x\n")
    sh(side, "add", "-A")
    sh(side, "commit", "-q", "-m", "side")
    sh(run_dir(repo), "merge", "--no-ff", "--no-commit", "side")
    assert (repo / ".git" / "worktrees" / "_run" / "MERGE_HEAD").exists()
    resumed = GitWorktrees(repo, RUN)
    work(resumed, "T2", "two.txt", "2\n")
    merged = resumed.finish(task("T2"))
    assert merged.ok, merged.message
    tree = sh(repo, "ls-tree", "-r", "--name-only", f"orch/{RUN}").split()
    assert "two.txt" in tree and "x.txt" not in tree


@pytest.mark.parametrize(
    "lock",
    [
        ".git/worktrees/_run/index.lock",  # B
        ".git/worktrees/_run/HEAD.lock",
        ".git/worktrees/_run/ORIG_HEAD.lock",
        f".git/refs/heads/orch/{RUN}.lock",  # C
        f".git/refs/heads/orch/tasks/{RUN}/T2.lock",
        ".git/packed-refs.lock",
    ],
)
def test_b_c_stale_lock_files_are_removed_and_the_step_goes_on(repo: Path, lock: str) -> None:
    iso = GitWorktrees(repo, RUN)
    work(iso, "T1", "one.txt", "1\n")
    assert iso.finish(task("T1")).ok
    path = repo / lock
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    old(path)
    resumed = GitWorktrees(repo, RUN)
    work(resumed, "T2", "two.txt", "2\n")
    merged = resumed.finish(task("T2"))
    assert merged.ok, merged.message
    assert "two.txt" in sh(repo, "ls-tree", "-r", "--name-only", f"orch/{RUN}").split()
    assert not path.exists()


def test_a_lock_file_a_live_process_holds_is_never_removed(repo: Path) -> None:
    path = repo / ".git" / "index.lock"
    with path.open("w"):
        old(path)
        assert not lock_is_stale(path)
        assert clear_stale_locks(repo) == []
        assert path.exists()
    assert lock_is_stale(path)
    assert clear_stale_locks(repo) == [path]


@pytest.mark.parametrize("lock", [".git/index.lock", ".git/refs/heads/main.lock"])
def test_f_landing_recovers_a_stale_lock_and_is_checked(repo: Path, lock: str) -> None:
    iso = GitWorktrees(repo, RUN)
    work(iso, "T1", "one.txt", "1\n")
    assert iso.finish(task("T1")).ok
    old_path = repo / lock
    old_path.write_text("")
    old(old_path)
    landed, why = land_run_branch(repo, RUN)
    assert landed, why
    assert sh(repo, "rev-parse", "HEAD") == sh(repo, "rev-parse", f"orch/{RUN}")


def test_f_a_landing_that_did_not_move_the_branch_is_not_a_landing(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    iso = GitWorktrees(repo, RUN)
    work(iso, "T1", "one.txt", "1\n")
    assert iso.finish(task("T1")).ok
    from orchestrator_tui.infra import workspace

    real = workspace.git

    def fake(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        if args[:2] == ("merge", "--ff-only"):  # "succeeds" without moving the branch
            return subprocess.CompletedProcess(args, 0, "", "")
        return real(cwd, *args, check=check)

    monkeypatch.setattr(workspace, "git", fake)
    landed, why = land_run_branch(repo, RUN)
    assert not landed
    assert "git merge --ff-only" in why


def test_g_a_task_killed_after_its_merge_is_found_merged_for_that_attempt(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    work(iso, "T1", "one.txt", "1\n", attempt=2)
    merged = iso.finish(task("T1"))
    assert merged.ok
    resumed = GitWorktrees(repo, RUN)
    found = resumed.merged_attempt(task("T1"), 2)
    assert found is not None and found.commit == merged.commit
    assert found.files == ("one.txt",)
    assert resumed.merged_attempt(task("T1"), 3) is None  # a later attempt is not merged
    assert resumed.merged_attempt(task("T2"), 2) is None


def test_j_a_deleted_run_checkout_is_made_again_not_the_workspace_read(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", {"app/__init__.py": "", "app/a.py": "A = 1\n"})
    iso = GitWorktrees(workspace, RUN_ID)
    for number in range(3):
        work(iso, f"T{number}", f"app/m{number}.py", f"M = {number}\n")
        assert iso.finish(task(f"T{number}")).ok
    subprocess.run(["rm", "-rf", str(run_dir(workspace))], check=True, timeout=30)
    ctx, _ = context(workspace, StageName.SECURITY)
    changes = find_changes(ctx)
    assert changes.root == run_dir(workspace)
    assert changes.files == ("app/m0.py", "app/m1.py", "app/m2.py")
    assert (changes.root / "app" / "m1.py").is_file()


def test_e_cleanup_edits_left_by_a_killed_attempt_are_committed_on_resume(
    tmp_path: Path,
) -> None:
    workspace = git_repo(tmp_path / "ws", {"app/__init__.py": "", "README.md": "# app\n"})
    iso = GitWorktrees(workspace, RUN_ID)
    work(iso, "T1", "app/new.py", UNTIDY)
    assert iso.finish(task("T1")).ok
    # the first attempt ran ruff and was killed before its commit
    (run_dir(workspace) / "app" / "new.py").write_text(TIDY)
    ctx, _ = context(workspace, StageName.CLEANUP)
    runner = CleanupRunner({"ruff": tool_argv("ruff", "ruff"), "vulture": None})
    result = runner.run(ctx)
    assert result.ok, result.details
    assert sh(workspace, "show", f"orch/{RUN_ID}:app/new.py") == TIDY.strip()
    assert sh(run_dir(workspace), "status", "--porcelain") == ""
    assert result.evidence["changed"] == ["app/new.py"]


def test_e_a_cleanup_commit_that_fails_fails_the_stage(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", {"app/__init__.py": "", "README.md": "# app\n"})
    iso = GitWorktrees(workspace, RUN_ID)
    work(iso, "T1", "app/new.py", UNTIDY)
    assert iso.finish(task("T1")).ok
    lock = workspace / ".git" / "worktrees" / "_run" / "index.lock"
    with lock.open("w"):  # held by a live process: not removed, the commit cannot happen
        ctx, _ = context(workspace, StageName.CLEANUP)
        result = CleanupRunner({"ruff": tool_argv("ruff", "ruff"), "vulture": None}).run(ctx)
    assert not result.ok
    assert "could not commit" in result.summary


def test_d_complete_reads_a_half_created_run_checkout_back_before_it_checks_it(
    tmp_path: Path,
) -> None:
    """Found by the crash sweep: killed after complete started, `_run` half-created (HEAD
    set, no index) — complete saw every file as an uncommitted deletion and was not ready."""
    from stage_support import git as stage_git
    from test_stage_complete import TASKS, evidence

    from orchestrator_tui.stages.complete import CompleteRunner

    workspace = git_repo(tmp_path / "ws", {"a.py": "a = 1\n", "README.md": "# ws\n"})
    iso = GitWorktrees(workspace, RUN_ID)
    work(iso, "T1", "b.py", "b = 2\n")
    assert iso.finish(task("T1")).ok
    place = run_dir(workspace)
    stage_git(workspace, "worktree", "remove", "--force", str(place))
    stage_git(workspace, "worktree", "add", "--no-checkout", str(place), f"orch/{RUN_ID}")
    ctx, _ = context(workspace, StageName.COMPLETE, tasks=TASKS, evidence=evidence())
    result = CompleteRunner().run(ctx)
    assert result.ok, result.summary
    assert sorted(p.name for p in workspace.iterdir() if p.name != ".git"
                  and p.name != ".orchestrator") == ["README.md", "a.py", "b.py"]  # fmt: skip
    assert stage_git(place, "status", "--porcelain") == ""
