"""The REAL Claude Code CLI, offline, against our loopback stand-in of the Messages API.

The CLI comes from `<repo>/.tools` (scripts/test.sh installs it from npm), $ORCH_CLAUDE_BIN
or PATH. Without it these tests skip locally — and fail in CI (env CI set), where a skip
would hide that the backend was never tried against the real thing.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from agent_support import RecordingEvents, git, make_job, make_repo
from engine_support import Background, Recorder

from orchestrator_tui.agents.claude import ClaudeBackend
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import AgentProfile, config_from_dict
from orchestrator_tui.core.models import STAGES, StageName, TaskStatus
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.engine.pipeline import EngineOptions
from orchestrator_tui.runtime import build_engine

try:  # tests/ is a rootdir-style directory (no __init__.py) unless someone adds one
    from fakes.anthropic_api import FakeAnthropic, working_directory
    from fakes.claude_env import claude_env, claude_executable
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.anthropic_api import FakeAnthropic, working_directory
    from tests.fakes.claude_env import claude_env, claude_executable

TWO_TASKS = """\
# Plan: Two real agents

## W1: First file
depends: none
files: one.txt

WRITE_FILE: one.txt
CONTENT: written by the first agent

## W2: Second file
depends: none
files: two.txt

WRITE_FILE: two.txt
CONTENT: written by the second agent
"""


@pytest.fixture(scope="module")
def claude() -> str:
    found = claude_executable()
    if found is None:
        message = "the real Claude Code CLI is not installed (bash scripts/test.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run this test")
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def api():
    with FakeAnthropic() as server:
        yield server


def test_two_agents_write_files_in_their_worktrees_and_both_merge(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    workspace = make_repo(tmp_path / "ws", {"README.md": "project\n", "PLAN.md": TWO_TASKS})
    config = config_from_dict(
        {
            "agents": {"default": "claude", "claude": {"backend": "claude", "executable": claude}},
            "run": {"retries": 0, "concurrency": 2},
        }
    )
    recorder = Recorder()
    options = EngineOptions(
        workspace=workspace,
        config=config,
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.02,
        extra_env=claude_env(api.url, tmp_path / "home"),
    )
    engine = build_engine(options, [recorder])
    with Background(engine):
        finished = recorder.wait_for(
            lambda e: isinstance(e, ev.StageFinished) and e.stage == StageName.IMPLEMENT, 120
        )
    assert finished.status == "done", finished.details
    state = engine.state
    branch = f"orch/{state.run_id}"
    for task_id, name, text in (
        ("W1", "one.txt", "written by the first agent"),
        ("W2", "two.txt", "written by the second agent"),
    ):
        task = state.tasks[task_id]
        assert task.status == TaskStatus.DONE and task.merged
        assert git(workspace, "show", f"{branch}:{name}") == text
        assert task.changed_files == (name,)
        assert task.input_tokens > 0 and task.output_tokens > 0 and task.cost_usd > 0
        assert len(task.session_id) == 36
    started = {e.task: e.workdir for e in recorder.of(ev.TaskStarted)}
    assert started["W1"] != started["W2"]
    # each agent was told its own worktree as its working directory (and wrote there)
    told = {working_directory(body) for body in api.messages_requests()}
    assert set(started.values()) <= told
    merges = git(workspace, "log", "--first-parent", "--format=%s", branch).splitlines()
    assert {"Merge W1: First file", "Merge W2: Second file"} <= set(merges)


def run_real(tmp_path: Path, claude: str, api: FakeAnthropic, name: str, prompt: str):
    workdir = make_repo(tmp_path / name / "work")
    profile = AgentProfile(executable=claude)
    job = make_job(
        tmp_path / name,
        prompt,
        profile,
        workdir=workdir,
        env=claude_env(api.url, tmp_path / name / "home"),
    )
    events = RecordingEvents()
    result = ClaudeBackend("claude", profile).run(job, events, threading.Event())
    return result, events


def test_an_api_error_and_a_permission_denial_are_reported_as_such(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    with ThreadPoolExecutor(2) as pool:
        api_error = pool.submit(run_real, tmp_path, claude, api, "api", "Say hi. API_ERROR_400")
        denied = pool.submit(
            run_real, tmp_path, claude, api, "denied", "Check it.\nBASH: python3 -c 'print(1)'"
        )
    result: AgentResult
    result, events = api_error.result()
    assert not result.ok and result.exit_code == 1
    assert result.reason == (
        "agent reported error: API error 400: fake API error 400 (requested by the prompt)"
    )
    assert result.session_id
    result, events = denied.result()
    assert not result.ok and result.exit_code == 0  # the CLI itself exits 0 here
    assert result.reason == "permission denied: Bash (python3 -c 'print(1)')"
    assert "▸ Bash: python3 -c 'print(1)'" in events.lines
    assert events.totals[2] > 0  # the turns it took are still counted
