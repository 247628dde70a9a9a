"""The ACP backend with a second real agent: Gemini CLI (`gemini --acp`, from npm) against our
loopback stand-in of the Gemini API (tests/fakes/gemini_api.py)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from acp_support import Answer, AskingEvents, gemini_env, tool
from agent_support import make_job, make_repo

from orchestrator_tui.agents import make_backend
from orchestrator_tui.core.config import AgentProfile

try:
    from fakes.gemini_api import FakeGemini
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.gemini_api import FakeGemini

pytestmark = pytest.mark.timeout(110)
RUN_PY = "python3 -c \"open('ran.txt', 'w').write('yes')\""


@pytest.fixture(scope="module")
def gemini() -> str:
    return tool("gemini")


@pytest.fixture(scope="module")
def api():
    with FakeGemini() as server:
        yield server


def run_gemini(tmp_path: Path, api: FakeGemini, gemini: str, prompt: str, events):
    workdir = make_repo(tmp_path / "work", {"README.md": "project\n"})
    profile = AgentProfile(
        backend="acp", command=[gemini, "--acp"], env=gemini_env(api.url, tmp_path / "home")
    )
    job = make_job(tmp_path, prompt, profile, workdir=workdir, timeout=90.0)
    result = make_backend(tmp_path, "gemini-acp", profile).run(job, events, threading.Event())
    return result, workdir


def test_gemini_asks_for_a_shell_command_and_runs_it_when_allowed(
    tmp_path: Path, api: FakeGemini, gemini: str
) -> None:
    events = AskingEvents(lambda request: Answer("allow", by="monitor"))
    result, workdir = run_gemini(tmp_path, api, gemini, f"BASH: {RUN_PY}", events)
    assert result.ok and result.reason == "ok", (result, events.lines)
    [request] = events.requests
    assert request.summary == RUN_PY, request
    assert "allow" in request.options and "deny" in request.options
    assert (workdir / "ran.txt").read_text() == "yes"
    assert result.final_text == "done" and result.session_id
    tokens_in, tokens_out, _cost = events.totals
    assert tokens_in >= 100 and tokens_out >= 20
    assert any(line.startswith("▸ ") and RUN_PY in line for line in events.lines), events.lines
    # the stand-in saw the command's result come back to the model
    last = api.agent_requests()[-1]
    assert "functionResponse" in str(last["contents"][-1])
