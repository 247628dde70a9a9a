"""ACP request_permission through the engine's queue, with the REAL claude-agent-acp (and
the real Claude Code CLI behind it, offline): the request waits in the queue, the answer
comes from another process, a rule answers without asking."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from acp_support import claude_acp_env, tool
from agent_support import make_repo
from engine_support import Background, Recorder

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.models import STAGES, StageName
from orchestrator_tui.engine.pipeline import EngineOptions
from orchestrator_tui.runtime import build_engine

try:
    from fakes.anthropic_api import FakeAnthropic
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.anthropic_api import FakeAnthropic

pytestmark = pytest.mark.timeout(150)
PLAN = """\
# Plan: ACP asks

## C1: Run it
depends: none
files: ran.txt

BASH: {command}
"""
RUN_PY = "python3 -c \"open('ran.txt', 'w').write('yes')\""


@pytest.fixture(autouse=True)
def no_sandbox_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IS_SANDBOX", raising=False)  # see test_acp_claude.py


@pytest.fixture(scope="module")
def api():
    with FakeAnthropic() as server:
        yield server


def acp_engine(tmp_path: Path, api: FakeAnthropic, command: str, **sections):
    adapter = tool("claude-agent-acp")
    workspace = make_repo(
        tmp_path / "ws", {"README.md": "x\n", "PLAN.md": PLAN.format(command=command)}
    )
    env = claude_acp_env(api.url, tmp_path / "home")
    data: dict = {
        "agents": {"default": "acp", "acp": {"backend": "acp", "command": [adapter], "env": env}},
        "run": {"retries": 0},
    }
    data.update(sections)
    recorder = Recorder()
    options = EngineOptions(
        workspace=workspace,
        config=config_from_dict(data),
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.02,
    )
    return build_engine(options, [recorder]), recorder, workspace


def implement_done(recorder: Recorder) -> ev.StageFinished:
    return recorder.wait_for(
        lambda e: isinstance(e, ev.StageFinished) and e.stage == StageName.IMPLEMENT, 120
    )


def test_an_acp_request_waits_in_the_queue_and_a_shell_allows_it(
    tmp_path: Path, api: FakeAnthropic
) -> None:
    engine, recorder, workspace = acp_engine(tmp_path, api, RUN_PY)
    with Background(engine) as run:
        asked = recorder.wait_for(lambda e: isinstance(e, ev.PermissionAsked), 90)
        assert (asked.task, asked.tool, asked.summary) == ("C1", "Bash", RUN_PY)
        answer = subprocess.run(
            [sys.executable, "-m", "orchestrator_tui", "allow", asked.request_id],
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert answer.returncode == 0, answer.stderr
        finished = implement_done(recorder)
        run.engine.stop()
    assert finished.status == "done", finished.details
    task = engine.state.tasks["C1"]
    assert task.reason == "ok" and "ran.txt" in task.changed_files
    [answered] = recorder.of(ev.PermissionAnswered)
    assert (answered.decision, answered.by) == ("allow", "cli")


def test_a_rule_answers_an_acp_request_without_asking(tmp_path: Path, api: FakeAnthropic) -> None:
    permissions = {"deny": ["Bash(python3:*)"]}
    engine, recorder, _ = acp_engine(tmp_path, api, RUN_PY, permissions=permissions)
    with Background(engine) as run:
        implement_done(recorder)
        run.engine.stop()
    [answered] = recorder.of(ev.PermissionAnswered)
    assert (answered.decision, answered.by) == ("deny", "rule")
    assert engine.state.tasks["C1"].reason.startswith("permission denied: Bash")
