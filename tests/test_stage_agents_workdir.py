"""Issue 13, what to build 3: a stage's own agent (test, cleanup, review) works in the run
branch's checkout and what it changes is committed there, never in the user's checkout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from engine_support import Background, Recorder, engine_for
from stage_support import git, git_repo

from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.models import StageName

AGENT = r"""
import json, os, re, sys
from pathlib import Path
prompt = Path(sys.argv[1]).read_text()
log = Path(sys.argv[2])
stage = re.search(r"^# Stage \d+: (\w+)", prompt, re.M)
who = stage.group(1).lower() if stage else re.search(r"^ID: (\S+)", prompt, re.M).group(1)
with log.open("a") as out:
    out.write(json.dumps({"who": who, "cwd": os.getcwd()}) + "\n")
if who == "T1":
    Path("calc.py").write_text("def add(a, b):\n    return a - b\n")
    Path("tests").mkdir(exist_ok=True)
    Path("tests/test_calc.py").write_text(
        "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
elif who == "test":
    Path("calc.py").write_text("def add(a, b):\n    return a + b\n")
elif who == "cleanup":
    Path("CLEANUP.md").write_text("tidied by the cleanup agent\n")
elif who == "review":
    Path("REVIEWED.md").write_text("read by the review agent\n")
    print("Looks right.\n\nVerdict: approve")
"""
PLAN = "# Plan: Add\n\n## T1: Add\ndepends: none\nfiles: calc.py, tests/test_calc.py\n"


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.mark.timeout(300)
def test_stage_agents_work_in_the_run_checkout_and_their_changes_are_committed_there(
    tmp_path: Path,
) -> None:
    workspace = git_repo(
        tmp_path / "ws",
        {"PLAN.md": PLAN, "README.md": "calc\n", ".gitignore": ".orchestrator/\n"},
    )
    agent, log = tmp_path / "agent.py", tmp_path / "agents.jsonl"
    agent.write_text(AGENT)
    command = [sys.executable, str(agent), "{prompt_file}", str(log)]
    config = config_from_dict(
        {
            "agents": {"default": "fake", "fake": {"backend": "command", "command": command}},
            "stages": {s: {"agent": "fake"} for s in ("test", "cleanup", "review")},
            "run": {"retry_backoff": 0.05},
        }
    )
    engine = engine_for(workspace, config, Recorder())
    with Background(engine) as run:
        assert run.result(timeout=240) == "complete"
    seen = [json.loads(line) for line in log.read_text().splitlines()]
    run_checkout = (workspace / ".orchestrator" / "worktrees" / "_run").resolve()
    stage_agents = {s["who"]: Path(s["cwd"]).resolve() for s in seen if s["who"] != "T1"}
    assert stage_agents == {"test": run_checkout, "cleanup": run_checkout, "review": run_checkout}
    branch = f"orch/{engine.state.run_id}"
    assert "a + b" in git(workspace, "show", f"{branch}:calc.py")
    assert git(workspace, "show", f"{branch}:CLEANUP.md") == "tidied by the cleanup agent\n"
    assert git(workspace, "show", f"{branch}:REVIEWED.md") == "read by the review agent\n"
    assert git(run_checkout, "status", "--porcelain").strip() == ""
    subjects = git(workspace, "log", "--format=%s", branch).splitlines()
    for stage in ("test", "cleanup", "review"):
        assert any(s.startswith(f"{stage} agent") for s in subjects), (stage, subjects)
    tests = engine.state.stages[StageName.TEST].evidence
    assert tests["passed"] == 1 and tests["failed"] == 0
    review = engine.state.stages[StageName.REVIEW].evidence  # the commit it judged
    assert review["commit"] in git(workspace, "log", "--format=%H", branch).split()
