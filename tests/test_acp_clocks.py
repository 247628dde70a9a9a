"""The ACP backend's own clocks and ends, against a tiny ACP agent (tests/fakes/acp_agent.py):
the timeout stops while a request waits, a timeout kills the group, an agent that exits
mid-turn is reported with its exit code."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from acp_support import Answer, AskingEvents
from agent_support import make_job

from orchestrator_tui.agents import make_backend, procgroup
from orchestrator_tui.core.config import AgentProfile

pytestmark = pytest.mark.timeout(90)
AGENT = str(Path(__file__).parent / "fakes" / "acp_agent.py")


def run(tmp_path: Path, prompt: str, events, timeout: float = 20.0):
    profile = AgentProfile(backend="acp", command=[sys.executable, AGENT])
    job = make_job(tmp_path, prompt, profile, timeout=timeout)
    return make_backend(tmp_path, "fake", profile).run(job, events, threading.Event()), job


def test_the_timeout_clock_stops_while_a_request_waits(tmp_path: Path) -> None:
    events = AskingEvents(lambda request: None)

    def answer_late() -> None:
        events.asked.wait(30)
        time.sleep(12.0)  # longer than the task's timeout
        events.replies["P1"](Answer("allow", by="app"))

    threading.Thread(target=answer_late, daemon=True).start()
    result, _ = run(tmp_path, "ASK: pytest -q", events, timeout=8.0)
    assert result.ok, (result, events.lines)
    assert "answer yes" in events.lines and result.session_id == "fake-session-1"


def test_a_timeout_outside_a_request_kills_the_agent(tmp_path: Path) -> None:
    events = AskingEvents(lambda request: None)
    started = time.monotonic()
    result, job = run(tmp_path, "SLEEP: 30", events, timeout=1.5)
    assert result.reason == "timeout after 1.5 s" and not result.ok
    assert time.monotonic() - started < 15
    assert not procgroup.kept_at(job.log_path.with_suffix(".pid")).exists()


def test_an_agent_that_exits_mid_turn_fails_with_its_exit_code(tmp_path: Path) -> None:
    events = AskingEvents(lambda request: Answer("deny", "no", by="rule"))
    result, _ = run(tmp_path, "EXIT", events)
    assert not result.ok and result.reason.startswith("exit 3 before the turn ended"), result


def test_a_rule_denial_fails_the_task(tmp_path: Path) -> None:
    events = AskingEvents(
        lambda request: Answer("deny", "denied by the rule Bash(rm *)", by="rule")
    )
    result, _ = run(tmp_path, "ASK: rm -rf build", events)
    assert not result.ok and result.reason == "permission denied: execute (rm -rf build)", result
    assert "answer no" in events.lines
