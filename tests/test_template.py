"""Issue 13, what to build 8: CLAUDE.md.example's names match the code — the files, keys,
paths, verdict lines and send-back wording it tells agents about are the ones the code
writes, reads and sends (it is read here, not copied into the test)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from engine_support import Background, Recorder, engine_for
from stage_support import git_repo

from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.fix_map import Owner, SendBackFacts, next_fix_id, send_back
from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.plan_fields import TASK_KEYS
from orchestrator_tui.core.state import RunState
from orchestrator_tui.infra.session import lock_path
from orchestrator_tui.infra.workspace import RUN_WORKTREE
from orchestrator_tui.stages.review import parse_verdict

TEMPLATE = (Path(__file__).resolve().parents[1] / "CLAUDE.md.example").read_text()
AGENT = r"""
import sys
from pathlib import Path
Path("calc.py").write_text("def add(a, b):\n    return a + b\n")
print("added")
"""
PLAN = """# Plan: Add

Numbers are added.

## T1: Add two numbers
depends: none
files: calc.py

Write `add(a, b)` in calc.py.
"""


def named(pattern: str) -> set[str]:
    return set(re.findall(pattern, TEMPLATE, re.MULTILINE))


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.mark.timeout(240)
def test_the_reports_and_prompt_parts_the_template_names_are_what_a_run_has(
    tmp_path: Path,
) -> None:
    workspace = git_repo(
        tmp_path / "ws",
        {"PLAN.md": PLAN, "CLAUDE.md": TEMPLATE, ".gitignore": ".orchestrator/\n"},
    )  # CLAUDE.md as `orchestrator-tui init` writes it
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    command = [sys.executable, str(agent), "{prompt_file}"]
    config = config_from_dict(
        {"agents": {"default": "fake", "fake": {"backend": "command", "command": command}}}
    )
    engine = engine_for(workspace, config, Recorder())
    with Background(engine) as run:
        assert run.result(timeout=200) == "complete"
    assert engine.files is not None
    reports = named(r"`([\w-]+\.(?:md|sarif|xml))`") | named(r"saved as ([\w-]+\.md)")
    reports -= {"PLAN.md", "CLAUDE.md"}
    assert {"analysis.md", "summary.md", "review.md"} <= reports, reports
    for name in reports:
        assert engine.files.report(name).is_file(), f"the template names {name}; no run writes it"
    # "Your prompt contains": the goal, the task's section, the paths, analysis.md
    prompt = engine.files.prompt("T1").read_text()
    assert "You are doing one task from PLAN.md" in prompt and "## Session rules" in prompt
    assert "## The run's goal" in prompt and "Numbers are added." in prompt
    assert "ID: T1" in prompt and "Files you may touch: calc.py" in prompt
    assert "Write `add(a, b)` in calc.py." in prompt
    assert "Workspace (the user's checkout" in prompt and str(workspace) in prompt
    assert f"Run directory (reports, read only): {engine.files.dir}" in prompt
    assert f"The map of the code: {engine.files.report('analysis.md')}" in prompt


def test_the_paths_keys_and_verdicts_the_template_names_are_the_codes(tmp_path: Path) -> None:
    assert "`.orchestrator/lock`" in TEMPLATE
    assert lock_path(tmp_path) == tmp_path / ".orchestrator" / "lock"
    assert f"`.orchestrator/worktrees/{RUN_WORKTREE}`" in TEMPLATE
    table = named(r"^\| `(\w+)` \|")
    assert table == set(TASK_KEYS) - {"status"}  # status lines: never written by agents
    verdicts = named(r"`(Verdict: [a-z ]+)`")
    assert {parse_verdict(f"Review text.\n\n{v}") for v in verdicts} == {
        "approve",
        "changes requested",
    }
    assert "`[stages.test] fix_rounds`" in TEMPLATE
    rounds = config_from_dict({"stages": {"test": {"fix_rounds": 1}}})
    assert rounds.stage(StageName.TEST).fix_rounds == 1


def test_the_send_back_wording_the_template_quotes_is_what_a_task_gets() -> None:
    (quoted,) = named(r"`(Sent back from the test stage \(fix round N\))`")
    facts = SendBackFacts(
        stage=StageName.TEST,
        evidence={"failures": [{"name": "test_add", "file": "tests/test_calc.py"}]},
        plan_ids=("T1",),
        owners={"T1": Owner(changed=("tests/test_calc.py",))},
        max_rounds=2,
    )
    started = send_back(RunState(), facts).events[0]
    text = started.feedback["T1"]  # type: ignore[attr-defined]
    assert text.startswith(quoted.replace("N", "1"))
    (fix_name,) = named(r"fix task `(fix-<N>)`")
    assert next_fix_id(("T1",), 3) == fix_name.replace("<N>", "3")
    orphan = SendBackFacts(
        stage=StageName.TEST,
        evidence={"failures": [{"name": "test_x"}]},
        plan_ids=("T1",),
        owners={},
        max_rounds=2,
    )
    fix_task = send_back(RunState(), orphan).events[0].fix_task  # type: ignore[attr-defined]
    assert fix_task is not None and fix_task.id == "fix-1"
