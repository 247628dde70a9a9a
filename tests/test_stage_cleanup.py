"""The cleanup stage: ruff format and ruff check --fix on what the run changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from stage_support import RUN_ID, FakeAgent, context, executable, git, git_repo, make_config

from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.stages.cleanup import CleanupRunner
from orchestrator_tui.stages.style import black_style
from orchestrator_tui.stages.tools import tool_argv

START = {"app/__init__.py": "", "app/keep.py": "x  =  1\n", "README.md": "# app\n"}
UNTIDY = "import os\nimport sys\n\n\ndef f( a ):\n  return a\n\nprint(undefined_name, sys)\n"
TIDY = "import sys\n\n\ndef f(a):\n    return a\n\n\nprint(undefined_name, sys)\n"


def ruff_only() -> dict[str, list[str] | None]:
    return {"ruff": tool_argv("ruff", "ruff"), "vulture": None}


def test_ruff_tidies_the_changed_files_and_reports_what_is_left(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    (workspace / "app" / "new.py").write_text(UNTIDY)
    (workspace / "app" / "clean.py").write_text("y = 2\n")
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert result.ok, result.details
    assert (workspace / "app" / "new.py").read_text() == TIDY
    assert (workspace / "app" / "keep.py").read_text() == "x  =  1\n"  # not changed by the run
    assert result.evidence["changed"] == ["app/new.py"]
    assert result.evidence["remaining"] == 1
    left = "app/new.py:8 F821 Undefined name `undefined_name`"
    assert result.evidence["remaining_issues"] == [left]
    assert left in result.details
    assert result.summary == "1 of 2 changed files tidied; 1 issue left"


def test_on_the_run_branch_checkout_the_cleanup_is_committed(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    git(workspace, "branch", f"orch/{RUN_ID}")
    checkout = workspace / ".orchestrator" / "worktrees" / "_run"
    git(workspace, "worktree", "add", "--quiet", str(checkout), f"orch/{RUN_ID}")
    (checkout / "app" / "new.py").write_text(UNTIDY)
    git(checkout, "add", "-A")
    git(checkout, "commit", "--quiet", "-m", "T1: merged work")
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert result.ok, result.details
    assert result.evidence["changed"] == ["app/new.py"]
    assert git(checkout, "status", "--porcelain") == ""
    assert "cleanup:" in git(checkout, "log", "-1", "--format=%s")
    assert git(workspace, "show", f"orch/{RUN_ID}:app/new.py") == TIDY
    assert not (workspace / "app" / "new.py").exists()  # the user's checkout is untouched


def test_no_changes_means_nothing_to_clean(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert result.ok and result.summary == "nothing to clean: the run changed no files"


def test_only_non_python_changes(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    (workspace / "README.md").write_text("# app\n\nmore\n")
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert result.ok and "no changed Python files" in result.summary


def test_missing_ruff_is_skipped_and_said_so(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    (workspace / "app" / "new.py").write_text(UNTIDY)
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner({"ruff": None, "vulture": None}).run(ctx)
    assert result.ok and result.summary == "ruff not installed — skipped"
    assert (workspace / "app" / "new.py").read_text() == UNTIDY


def test_a_crashing_ruff_fails_the_stage(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    (workspace / "app" / "new.py").write_text(UNTIDY)
    broken = executable(tmp_path / "ruff", "#!/bin/sh\necho 'ruff: internal error' >&2\nexit 2\n")
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner({"ruff": [str(broken)], "vulture": None}).run(ctx)
    assert not result.ok
    assert result.summary == "cleanup failed: ruff format exited 2: ruff: internal error"


def test_a_configured_command_that_hangs_is_stopped(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    (workspace / "web.js").write_text("var x=1\n")
    config = make_config(stages={"cleanup": {"command": ["sleep", "30"], "timeout": 0.5}})
    ctx, _ = context(workspace, StageName.CLEANUP, config=config)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert not result.ok and "timed out" in result.summary


def test_a_configured_command_gets_the_files_and_its_edits_are_reported(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    (workspace / "web.js").write_text("var x=1\n")
    append = '#!/bin/sh\nfor f in "$@"; do echo "// ok" >> "$f"; done\n'
    formatter = executable(tmp_path / "fmt", append)
    config = make_config(stages={"cleanup": {"command": [str(formatter), "{files}"]}})
    ctx, _ = context(workspace, StageName.CLEANUP, config=config)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert result.ok
    assert result.evidence["changed"] == ["web.js"]
    assert (workspace / "web.js").read_text() == "var x=1\n// ok\n"


def test_dead_code_goes_to_the_cleanup_agent(tmp_path: Path) -> None:
    vulture = tool_argv("vulture", "vulture")
    if vulture is None:
        pytest.skip("vulture is not installed (pip install vulture)")
    workspace = git_repo(tmp_path / "ws", START)
    dead = 'def used():\n    return 1\n    print("never")\n'
    (workspace / "app" / "dead.py").write_text(dead)
    agent = FakeAgent([AgentResult(ok=True, final_text="removed nothing")])
    config = make_config(stages={"cleanup": {"agent": "claude"}})
    ctx, _ = context(workspace, StageName.CLEANUP, config=config, run_agent=agent)
    result = CleanupRunner({**ruff_only(), "vulture": vulture}).run(ctx)
    assert result.ok, result.details
    assert any("unreachable code" in item for item in result.evidence["dead_code"])
    assert "app/dead.py:3: unreachable code" in agent.prompts[0]
    assert "removed nothing" in result.details


BLACK_PROJECT = {
    "pkg/__init__.py": "",
    "pkg/more.py": "__all__ = [\n    'alpha',\n    'beta',\n]\n\n\ndef alpha():\n    return 'a'\n",
    "pyproject.toml": "[tool.black]\nline-length = 79\nskip-string-normalization = true\n",
}
LONG_CALL = "    return format_the_thing(first_argument, second_argument, third_argument_xyz)\n"


def test_a_project_formatted_by_black_keeps_its_style(tmp_path: Path) -> None:
    """ruff does not read [tool.black]: without its settings a name added to a
    single-quoted `__all__` rewrote the whole list in double quotes (a trial on
    more-itertools). Its line length and quotes are passed to ruff."""
    workspace = git_repo(tmp_path / "ws", BLACK_PROJECT)
    changed = BLACK_PROJECT["pkg/more.py"].replace("    'beta',\n", "    'beta',\n    'gamma',\n")
    changed += f"\n\ndef gamma():\n    x = 'g'\n{LONG_CALL}"
    (workspace / "pkg" / "more.py").write_text(changed)
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert result.ok, result.details
    after = (workspace / "pkg" / "more.py").read_text()
    assert after.startswith("__all__ = [\n    'alpha',\n    'beta',\n    'gamma',\n]\n")
    assert "    x = 'g'\n" in after  # quotes as written
    assert LONG_CALL not in after  # 80 characters: wrapped at black's 79
    assert "black's settings in pyproject.toml: line length 79, quotes kept as written" in (
        result.details
    )


def test_ruffs_own_settings_win_over_blacks(tmp_path: Path) -> None:
    project = {**BLACK_PROJECT, "ruff.toml": "line-length = 100\n"}
    workspace = git_repo(tmp_path / "ws", project)
    (workspace / "pkg" / "more.py").write_text(
        BLACK_PROJECT["pkg/more.py"] + f"\n\ndef gamma():\n    x = 'g'\n{LONG_CALL}"
    )
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner(ruff_only()).run(ctx)
    assert result.ok, result.details
    after = (workspace / "pkg" / "more.py").read_text()
    assert LONG_CALL in after and '    x = "g"\n' in after  # ruff's settings: 100, double quotes
    assert "black's settings" not in result.details


@pytest.mark.parametrize(
    "pyproject",
    [
        "[tool.black\nline-length = 79\n",  # not TOML: ruff's defaults, no error
        "[tool.black]\nline-length = 'long'\nskip-string-normalization = 'yes'\n",
        "[tool.black]\nline-length = true\n",
        "[tool.isort]\nprofile = 'black'\n",
    ],
)
def test_black_settings_that_say_nothing_usable_change_nothing(
    tmp_path: Path, pyproject: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(pyproject)
    assert black_style(tmp_path) == ([], "")
