"""Seen in the real-repository trial (issue 13, observation 2 again): cleanup committed
formatting after the test stage had judged the run branch, summary.md said "tests green"
about the earlier commit, and the user's branch was fast-forwarded to the untested one.
The complete stage runs the suite again at the head when commits came after the tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from engine_support import Background, Recorder, engine_for
from stage_support import git, git_repo

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.models import StageName

AGENT = r"""
import re, sys
from pathlib import Path
prompt = Path(sys.argv[1]).read_text()
stage = re.search(r"^# Stage \d+: (\w+)", prompt, re.M)
if stage and stage.group(1) == "Cleanup":
    if sys.argv[2] == "break":  # "dead code removal" that changes behaviour
        Path("calc.py").write_text("def add(a, b):\n    return a - b\n")
    print("tidied")
    sys.exit(0)
Path("calc.py").write_text("def add( a,b ):\n    return a+b\n")  # ruff format will change it
Path("tests").mkdir(exist_ok=True)
Path("tests/test_calc.py").write_text(
    "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
)
print("added")
"""
PLAN = "# Plan: Add\n\n## T1: Add\ndepends: none\nfiles: calc.py, tests/test_calc.py\n"


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def run(tmp_path: Path, cleanup: str) -> tuple[Path, object]:
    workspace = git_repo(
        tmp_path / "ws",
        {
            "PLAN.md": PLAN,
            ".gitignore": ".orchestrator/\n",
            "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
        },
    )
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    command = [sys.executable, str(agent), "{prompt_file}", cleanup]
    config = config_from_dict(
        {
            "agents": {"default": "fake", "fake": {"backend": "command", "command": command}},
            "stages": {"cleanup": {"agent": "fake"}},
            "notify": {"bell": False},
        }
    )
    recorder = Recorder()
    engine = engine_for(workspace, config, recorder)
    with Background(engine) as background:
        if cleanup == "break":  # complete fails and its gate waits: look, then cancel
            recorder.wait_for(
                lambda e: isinstance(e, ev.GateOpened) and e.stage == StageName.COMPLETE, 200
            )
            assert engine.state.gate is not None and engine.state.gate.failed
            complete = engine.state.stages[StageName.COMPLETE]
            engine.submit("cancel")
            background.result(timeout=60)
            return workspace, (engine, complete)
        outcome = background.result(timeout=200)
    return workspace, (engine, outcome)


@pytest.mark.timeout(300)
def test_commits_after_the_tests_are_tested_before_the_run_lands(tmp_path: Path) -> None:
    workspace, (engine, outcome) = run(tmp_path, "format")
    assert outcome == "complete"
    state = engine.state
    branch = f"orch/{state.run_id}"
    tip = git(workspace, "rev-parse", branch).strip()
    tested = state.stages[StageName.TEST].evidence["commit"]
    assert tested != tip  # cleanup's formatting came after the tests
    retest = state.stages[StageName.COMPLETE].evidence["retest"]
    assert retest["from"] == tested and retest["to"] == tip and retest["ok"]
    assert any("cleanup" in subject for subject in retest["commits"])
    summary = (engine.files.dir / "summary.md").read_text()
    assert f"tests green: 1 passed, 0 failed or errors at {tip[:10]} (run again:" in summary
    assert git(workspace, "rev-parse", "main").strip() == tip  # landed: the tested commit


@pytest.mark.timeout(300)
def test_a_commit_after_the_tests_that_breaks_them_keeps_the_run_from_landing(
    tmp_path: Path,
) -> None:
    start_files = {"PLAN.md", ".gitignore", "pyproject.toml"}
    workspace, (engine, complete) = run(tmp_path, "break")
    state = engine.state
    assert state.stages[StageName.TEST].evidence["passed"] == 1  # green when it ran
    assert not complete.evidence["ready"]
    assert not complete.evidence["retest"]["ok"]
    assert "tests not green: 0 passed, 1 failed" in complete.summary, complete.summary
    tracked = set(git(workspace, "ls-tree", "--name-only", "main").split())
    assert tracked == start_files  # the user's branch was not fast-forwarded
