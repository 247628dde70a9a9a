"""Git worktrees per task, against real git repositories in temporary directories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.models import Task
from orchestrator_tui.core.protocols import SharedWorkspace
from orchestrator_tui.infra.workspace import (
    GitError,
    GitWorktrees,
    land_run_branch,
    ref_component,
)
from orchestrator_tui.runtime import make_isolation

RUN = "20260101-120000-abcd"
USER_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "User",
    "GIT_AUTHOR_EMAIL": "user@example.invalid",
    "GIT_COMMITTER_NAME": "User",
    "GIT_COMMITTER_EMAIL": "user@example.invalid",
}


def sh(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=USER_ENV, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    sh(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    sh(path, "add", "-A")
    sh(path, "commit", "-q", "-m", "initial")
    return path


def task(task_id: str, title: str = "work") -> Task:
    return Task(id=task_id, title=title)


def show(repo: Path, ref: str, path: str) -> str:
    return sh(repo, "show", f"{ref}:{path}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def test_prepare_makes_a_worktree_on_its_own_branch_from_the_run_branch(repo: Path) -> None:
    head = sh(repo, "rev-parse", "HEAD")
    iso = GitWorktrees(repo, RUN)
    workdir = iso.prepare(task("T1"), 1)

    assert workdir == repo / ".orchestrator" / "worktrees" / "T1"
    assert (workdir / "README.md").read_text() == "hello\n"
    assert sh(workdir, "branch", "--show-current") == f"orch/tasks/{RUN}/T1"
    assert sh(repo, "rev-parse", f"orch/{RUN}") == head
    # the user's checkout is untouched and does not see .orchestrator/ as untracked
    assert sh(repo, "branch", "--show-current") == "main"
    assert sh(repo, "status", "--porcelain", "--untracked-files=all") == ""
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert "/.orchestrator/" in exclude.splitlines()


def test_finish_commits_and_merges_into_the_run_branch_then_cleans_up(repo: Path) -> None:
    head = sh(repo, "rev-parse", "HEAD")
    iso = GitWorktrees(repo, RUN)
    work = iso.prepare(task("T1", "Add a"), 1)
    (work / "src").mkdir()
    (work / "src" / "a.py").write_text("A = 1\n")
    (work / "README.md").write_text("hello\nmore\n")

    merge = iso.finish(task("T1", "Add a"))

    assert merge.ok and not merge.conflict_files
    assert merge.files == ("README.md", "src/a.py")
    assert merge.commit == sh(repo, "rev-parse", f"orch/{RUN}")
    assert show(repo, f"orch/{RUN}", "src/a.py") == "A = 1"
    assert sh(repo, "log", "-1", "--format=%s", f"orch/{RUN}") == "Merge T1: Add a"
    assert sh(repo, "log", "-1", "--format=%s", f"orch/{RUN}^2") == "T1: Add a"
    author = sh(repo, "log", "-1", "--format=%an", f"orch/{RUN}^2")
    assert author == "orchestrator-tui"
    # the task's worktree and branch are gone; the user's branch and files are as they were
    assert not work.exists()
    assert sh(repo, "branch", "--list", f"orch/tasks/{RUN}/*") == ""
    assert sh(repo, "rev-parse", "main") == head
    assert not (repo / "src").exists()
    assert (repo / "README.md").read_text() == "hello\n"


def test_a_dependent_task_starts_from_the_merged_work(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    first = iso.prepare(task("A"), 1)
    (first / "a.txt").write_text("from A\n")
    assert iso.finish(task("A")).ok
    second = iso.prepare(task("B"), 1)
    assert (second / "a.txt").read_text() == "from A\n"


def test_results_merge_in_the_order_tasks_finish(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    for name in ("T1", "T2", "T3"):
        work = iso.prepare(task(name), 1)
        (work / f"{name}.txt").write_text(name)
    for name in ("T2", "T3", "T1"):
        assert iso.finish(task(name)).ok
    merges = sh(repo, "log", "--first-parent", "--format=%s", f"orch/{RUN}").splitlines()
    assert merges[:3] == ["Merge T1: work", "Merge T3: work", "Merge T2: work"]
    tree = sh(repo, "ls-tree", "--name-only", f"orch/{RUN}").splitlines()
    assert {"T1.txt", "T2.txt", "T3.txt"} <= set(tree)


def test_a_conflict_is_reported_with_its_files_and_the_worktree_is_kept(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    left = iso.prepare(task("L"), 1)
    right = iso.prepare(task("R"), 1)
    (left / "same.txt").write_text("left\n")
    (right / "same.txt").write_text("right\n")
    (right / "other.txt").write_text("fine\n")
    assert iso.finish(task("L")).ok
    before = sh(repo, "rev-parse", f"orch/{RUN}")

    merge = iso.finish(task("R"))

    assert not merge.ok
    assert merge.conflict_files == ("same.txt",)
    assert "same.txt" in merge.message
    # merge aborted: run branch unchanged, its checkout clean, no merge in progress
    run_dir = repo / ".orchestrator" / "worktrees" / "_run"
    assert sh(repo, "rev-parse", f"orch/{RUN}") == before
    assert sh(run_dir, "status", "--porcelain") == ""
    merge_head = sh(run_dir, "rev-parse", "--git-path", "MERGE_HEAD")
    assert not (run_dir / merge_head).exists()
    # the conflicting task's work is kept for the user, committed on its branch
    assert (right / "same.txt").read_text() == "right\n"
    assert show(repo, f"orch/tasks/{RUN}/R", "same.txt") == "right"


def test_prepare_twice_starts_fresh_and_finish_twice_is_harmless(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    work = iso.prepare(task("T1"), 1)
    (work / "half-done.txt").write_text("crash left this\n")
    again = GitWorktrees(repo, RUN).prepare(task("T1"), 2)  # a new process after a crash
    assert again == work
    assert not (again / "half-done.txt").exists()
    (again / "done.txt").write_text("ok\n")

    first = iso.finish(task("T1"))
    second = GitWorktrees(repo, RUN).finish(task("T1"))

    assert first.ok and first.files == ("done.txt",)
    assert second.ok and second.message == "already merged"
    assert sh(repo, "log", "--format=%s", f"orch/{RUN}").count("Merge T1") == 1


def test_finish_after_a_crash_between_merge_and_cleanup(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    work = iso.prepare(task("T1"), 1)
    (work / "x.txt").write_text("x\n")
    # what finish does up to the merge, then "crash" before cleaning up
    sh(work, "add", "-A")
    sh(work, "commit", "-q", "-m", "T1: work")
    run_dir = repo / ".orchestrator" / "worktrees" / "_run"
    sh(run_dir, "merge", "-q", "--no-ff", "--no-edit", f"orch/tasks/{RUN}/T1")  # as finish does

    merged = sh(run_dir, "rev-parse", "HEAD")
    (run_dir / "later.txt").write_text("x\n")  # the run went on after the merge
    sh(run_dir, "add", "-A")
    sh(run_dir, "commit", "-q", "-m", "later")

    merge = GitWorktrees(repo, RUN).finish(task("T1"))

    assert merge.ok and merge.message == "nothing new to merge"
    assert merge.commit == merged and merge.files == ("x.txt",)  # its merge, found again
    assert not work.exists()
    assert sh(repo, "branch", "--list", f"orch/tasks/{RUN}/T1") == ""


def test_listed_untracked_files_are_copied_in_but_never_committed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / ".env").write_text("SECRET=1\n")
    (repo / "local.cfg").write_text("x\n")
    iso = GitWorktrees(repo, RUN, copy_files=(".env", "missing.txt"))
    work = iso.prepare(task("T1"), 1)
    assert (work / ".env").read_text() == "SECRET=1\n"
    assert not (work / "local.cfg").exists()
    (work / "app.py").write_text("print(1)\n")
    merge = iso.finish(task("T1"))
    assert merge.ok and merge.files == ("app.py",)
    tree = sh(repo, "ls-tree", "--name-only", f"orch/{RUN}").splitlines()
    assert "app.py" in tree and ".env" not in tree


def test_a_task_without_changes_merges_as_nothing(repo: Path) -> None:
    """No commit of its own: no merge is its work. (Its merge used to be the run branch's
    head — another task's merge — whose files review then held against it as scope creep,
    and whose diff the app showed as its.)"""
    iso = GitWorktrees(repo, RUN)
    iso.prepare(task("T1"), 1)
    idle = iso.prepare(task("T2"), 1)
    (iso.prepare(task("T3"), 1) / "t3.txt").write_text("T3's work\n")
    assert iso.finish(task("T3")).files == ("t3.txt",)  # merged before T2 finishes
    merge = iso.finish(task("T1"))
    assert merge.ok and merge.files == () and merge.commit == ""
    assert iso.finish(task("T2")) == merge and not idle.exists()


def test_awkward_task_ids_become_valid_branch_and_directory_names(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    names = ["a..b", "x.lock", "_run", "dot.", ".hidden", "ok-1_2.3"]
    places = set()
    for name in names:
        work = iso.prepare(task(name), 1)
        assert work.is_dir() and work.parent == repo / ".orchestrator" / "worktrees"
        places.add(work)
        subprocess.run(
            ["git", "check-ref-format", f"refs/heads/{iso.place(task(name)).branch}"],
            check=True,
            timeout=10,
        )
    assert len(places) == len(names)
    assert ref_component("_run") != "_run"  # never the run branch's checkout


def test_the_workspace_may_be_a_subdirectory_of_the_repository(tmp_path: Path) -> None:
    top = make_repo(tmp_path / "top", {"app/main.py": "x = 1\n", "other/o.txt": "o\n"})
    workspace = top / "app"
    iso = GitWorktrees(workspace, RUN)
    work = iso.prepare(task("T1"), 1)
    assert (work / "main.py").read_text() == "x = 1\n"
    (work / "new.py").write_text("y = 2\n")
    merge = iso.finish(task("T1"))
    assert merge.ok and merge.files == ("new.py",)
    assert show(top, f"orch/{RUN}", "app/new.py") == "y = 2"
    assert sh(top, "status", "--porcelain", "--untracked-files=all") == ""


def test_land_fast_forwards_a_clean_checkout_and_refuses_otherwise(repo: Path) -> None:
    iso = GitWorktrees(repo, RUN)
    work = iso.prepare(task("T1"), 1)
    (work / "README.md").write_text("changed by T1\n")
    assert iso.finish(task("T1")).ok

    (repo / "README.md").write_text("my own edit\n")
    landed, message = land_run_branch(repo, RUN)
    assert not landed and "git merge" in message
    assert (repo / "README.md").read_text() == "my own edit\n"

    sh(repo, "checkout", "--", "README.md")
    landed, message = land_run_branch(repo, RUN)
    assert landed, message
    assert (repo / "README.md").read_text() == "changed by T1\n"
    assert sh(repo, "rev-parse", "main") == sh(repo, "rev-parse", f"orch/{RUN}")

    (repo / "mine.txt").write_text("m\n")
    sh(repo, "add", "mine.txt")
    sh(repo, "commit", "-q", "-m", "user moves on")
    work = iso.prepare(task("T2"), 1)
    (work / "t2.txt").write_text("2\n")
    assert iso.finish(task("T2")).ok
    landed, message = land_run_branch(repo, RUN)
    assert not landed and "moved on" in message


def test_make_isolation_picks_worktrees_only_for_a_git_repository(tmp_path: Path) -> None:
    auto = config_from_dict({})
    plain = tmp_path / "plain"
    plain.mkdir()
    assert isinstance(make_isolation(plain, RUN, auto), SharedWorkspace)
    repo = make_repo(tmp_path / "repo")
    assert isinstance(make_isolation(repo, RUN, auto), GitWorktrees)
    none = config_from_dict({"run": {"isolation": "none"}})
    assert isinstance(make_isolation(repo, RUN, none), SharedWorkspace)
    empty = tmp_path / "empty"
    empty.mkdir()
    sh(empty, "init", "-q")
    assert isinstance(make_isolation(empty, RUN, auto), SharedWorkspace)
    forced = make_isolation(plain, RUN, config_from_dict({"run": {"isolation": "worktree"}}))
    with pytest.raises(GitError, match="not in a git repository"):
        forced.prepare(task("T1"), 1)
