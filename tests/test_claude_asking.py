"""The REAL Claude Code CLI through its stdio control protocol, offline against the
Messages API stand-in: its permission requests come to the queue, a person's answer goes
back, messages and interrupts reach the running agent."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from acp_support import Answer, AskingEvents
from agent_support import RecordingEvents, make_job, make_repo
from asking_support import wait_until
from engine_support import Background, Recorder

from orchestrator_tui.agents.claude import ClaudeBackend
from orchestrator_tui.agents.claude_control import response
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import AgentProfile, config_from_dict
from orchestrator_tui.core.models import STAGES, StageName
from orchestrator_tui.core.permissions import Answer as QueueAnswer
from orchestrator_tui.engine.pipeline import EngineOptions
from orchestrator_tui.runtime import build_engine

try:
    from fakes.anthropic_api import FakeAnthropic, prompt_text
    from fakes.claude_env import claude_env, claude_executable
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.anthropic_api import FakeAnthropic, prompt_text
    from tests.fakes.claude_env import claude_env, claude_executable

pytestmark = pytest.mark.timeout(120)
RUN_PY = "python3 -c \"open('ran.txt', 'w').write('yes')\""


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


def run_claude(tmp_path: Path, claude: str, api: FakeAnthropic, prompt: str, events, **job):
    workdir = make_repo(tmp_path / "work", {"README.md": "project\n"})
    profile = AgentProfile(executable=claude)
    cancel = job.pop("cancel", threading.Event())
    env = claude_env(api.url, tmp_path / "home")
    job_ = make_job(tmp_path, prompt, profile, workdir=workdir, env=env, **job)
    result = ClaudeBackend("claude", profile).run(job_, events, cancel)
    return result, workdir


def tool_results(api: FakeAnthropic, marker: str) -> list[str]:
    """The tool_result texts the model was shown in requests whose prompt has `marker`."""
    found = []
    for body in api.messages_requests():
        if marker not in prompt_text(body):
            continue
        for message in body.get("messages", []):
            for block in message.get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    found.append(json.dumps(block.get("content")))
    return found


def test_allowed_the_command_runs_and_the_task_is_done(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    events = AskingEvents(lambda request: Answer("allow", by="cli"))
    result, workdir = run_claude(tmp_path, claude, api, f"BASH: {RUN_PY}", events)
    assert result.ok and result.reason == "ok", (result, events.lines)
    [request] = events.requests
    assert (request.tool, request.summary, request.subject) == ("Bash", RUN_PY, RUN_PY)
    assert request.options == ("allow", "allow_session", "deny")
    assert (workdir / "ran.txt").read_text() == "yes"
    assert f"? P1 waits for you: Bash {RUN_PY}" in events.lines
    assert f"? P1 allow by cli: Bash {RUN_PY}" in events.lines
    assert result.session_id and events.totals[2] > 0


def test_a_persons_no_reaches_the_model_and_is_reported_not_failed(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    events = AskingEvents(lambda request: Answer("deny", "not on a Friday", by="app"))
    prompt = f"DENY_CASE\nBASH: {RUN_PY}"
    result, workdir = run_claude(tmp_path, claude, api, prompt, events)
    assert result.ok and result.reason == f"denied by the user: Bash ({RUN_PY})", result
    assert not (workdir / "ran.txt").exists()
    assert any("not on a Friday" in text for text in tool_results(api, "DENY_CASE"))


def test_allow_for_the_session_writes_nothing_into_the_worktree(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    events = AskingEvents(lambda request: Answer("allow_session", by="monitor"))
    result, workdir = run_claude(tmp_path, claude, api, f"BASH: {RUN_PY}", events)
    assert result.ok, (result, events.lines)
    assert (workdir / "ran.txt").read_text() == "yes"
    assert not (workdir / ".claude").exists()  # localSettings would write settings.local.json
    raw = events.requests[0].raw
    sent = response("r1", QueueAnswer("allow_session", by="app"), raw)["response"]["response"]
    assert sent["updatedPermissions"]
    assert {p["destination"] for p in sent["updatedPermissions"]} == {"session"}


def test_without_anyone_to_ask_the_request_is_refused_and_the_task_fails(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    result, workdir = run_claude(tmp_path, claude, api, f"BASH: {RUN_PY}", RecordingEvents())
    assert not result.ok and result.reason == f"permission denied: Bash ({RUN_PY})", result
    assert not (workdir / "ran.txt").exists()


def channel_in_turn(events: AskingEvents, timeout: float = 60.0):
    return wait_until(
        lambda: events.channel if events.channel is not None and events.channel.in_turn else None,
        timeout,
        "the agent's turn",
    )


def test_a_message_said_mid_turn_reaches_the_model(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    events = AskingEvents(lambda request: None)
    said: list[str] = []

    def speak() -> None:
        channel = channel_in_turn(events)
        wait_until(lambda: any(line.startswith("●") for line in events.lines), 60, "init")
        said.append(channel.say("MIDTURN_NOTE use the helper in utils.py"))

    threading.Thread(target=speak, daemon=True).start()
    prompt = "SAY_CASE\nDELAY_MS: 4000\nREPLY: first answer"
    result, _ = run_claude(tmp_path, claude, api, prompt, events)
    assert said == [""]
    assert result.ok, (result, events.lines)
    bodies = [json.dumps(body["messages"]) for body in api.messages_requests()]
    assert any("MIDTURN_NOTE use the helper in utils.py" in text for text in bodies)


def test_interrupt_stops_the_turn_and_the_next_message_goes_on(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    events = AskingEvents(lambda request: None)
    answers: list[str] = []

    def interrupt_then_say() -> None:
        channel = channel_in_turn(events)
        wait_until(lambda: any(line.startswith("●") for line in events.lines), 60, "init")
        time.sleep(0.5)
        answers.append(channel.interrupt())
        wait_until(channel.holding, 60, "the agent waiting after the interrupt")
        answers.append(channel.say("REPLY: after the interrupt"))

    threading.Thread(target=interrupt_then_say, daemon=True).start()
    prompt = "INTERRUPT_CASE\nDELAY_MS: 8000\nREPLY: slow"
    result, _ = run_claude(tmp_path, claude, api, prompt, events, timeout=60.0)
    assert answers == ["", ""]
    assert result.ok, (result, events.lines)
    turns = [line.split(" ·")[0] for line in events.lines if line.startswith("■ ")]
    assert turns[0] == "■ error" and turns[-1] == "■ success", events.lines


PLAN = """\
# Plan: Asking agents

## A1: First
depends: none
files: a.txt

BASH: {a}

## A2: Second
depends: none
files: b.txt

BASH: {b}
"""


def engine_with_claude(tmp_path: Path, claude: str, api: FakeAnthropic, plan: str, **sections):
    workspace = make_repo(tmp_path / "ws", {"README.md": "project\n", "PLAN.md": plan})
    data: dict = {
        "agents": {"default": "claude", "claude": {"backend": "claude", "executable": claude}},
        "run": {"retries": 0, "concurrency": 2},
    }
    data.update(sections)
    recorder = Recorder()
    options = EngineOptions(
        workspace=workspace,
        config=config_from_dict(data),
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.02,
        extra_env=claude_env(api.url, tmp_path / "home"),
    )
    return build_engine(options, [recorder]), recorder, workspace


def test_two_parallel_agents_ask_at_once_and_both_wait_in_order(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    a = "python3 -c \"open('a.txt', 'w').write('a')\""
    b = "python3 -c \"open('b.txt', 'w').write('b')\""
    engine, recorder, _ = engine_with_claude(tmp_path, claude, api, PLAN.format(a=a, b=b))
    with Background(engine) as run:
        for request_id in ("P1", "P2"):
            recorder.wait_for(
                lambda e, r=request_id: isinstance(e, ev.PermissionAsked) and e.request_id == r,
                90,
            )
        queue = [p for p in engine.state.permissions.values() if p.waiting]
        assert sorted(p.task for p in queue) == ["A1", "A2"]
        time.sleep(1.0)  # both stay waiting: nobody answered
        assert all(p.waiting for p in engine.state.permissions.values())
        for permission in sorted(queue, key=lambda p: p.id):
            engine.submit("allow", permission.id, by="app")
        implement = recorder.wait_for(
            lambda e: isinstance(e, ev.StageFinished) and e.stage == StageName.IMPLEMENT, 90
        )
        assert implement.status == "done", implement.details
        run.engine.stop()
    assert [e.by for e in recorder.of(ev.PermissionAnswered)] == ["app", "app"]
    for task in ("A1", "A2"):
        assert engine.state.tasks[task].reason == "ok"


def test_a_rule_allows_without_asking_and_a_timeout_denies_with_the_reason(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    a = "pytest --version"
    b = "python3 -c \"open('b.txt', 'w').write('b')\""
    permissions = {"allow": ["Bash(pytest:*)"], "timeout": 3, "timeout_message": "TIMED_OUT_NO"}
    engine, recorder, _ = engine_with_claude(
        tmp_path, claude, api, PLAN.format(a=a, b=b), permissions=permissions
    )
    with Background(engine) as run:
        implement = recorder.wait_for(
            lambda e: isinstance(e, ev.StageFinished) and e.stage == StageName.IMPLEMENT, 120
        )
        run.engine.stop()
    answers = {e.task: e for e in recorder.of(ev.PermissionAnswered)}
    assert (answers["A1"].decision, answers["A1"].by) == ("allow", "rule")
    assert (answers["A2"].decision, answers["A2"].by) == ("deny", "timeout")
    assert any("TIMED_OUT_NO" in text for text in tool_results(api, "open('b.txt'"))
    # a timeout is not a person's no: the refusal fails the task
    assert engine.state.tasks["A2"].reason.startswith("permission denied: Bash"), implement


def test_an_interrupted_turn_and_the_next_one_count_their_cost_once(
    tmp_path: Path, claude: str, api: FakeAnthropic
) -> None:
    """Issue 14: after `interrupt` and a new message the CLI gives a second `result` whose
    `total_cost_usd` is the session's running total (it includes the first turn's) while
    its `usage` is the second turn's alone: the task was charged the first turn twice and
    the second turn's output tokens not at all."""
    events = AskingEvents(lambda request: None)  # the Bash request waits: the turn has cost

    def interrupt_then_say() -> None:
        channel = channel_in_turn(events)
        wait_until(lambda: bool(events.requests), 60, "the Bash request")
        channel.interrupt()
        wait_until(channel.holding, 60, "the agent waiting after the interrupt")
        channel.say("REPLY: after the interrupt")

    threading.Thread(target=interrupt_then_say, daemon=True).start()
    prompt = f"COST_CASE\nBASH: {RUN_PY}"
    result, _ = run_claude(tmp_path, claude, api, prompt, events, timeout=60.0)
    assert result.ok, (result, events.lines)
    results = [
        json.loads(line)
        for line in (tmp_path / "logs" / "T1.log").read_text().splitlines()
        if line.startswith('{"type":"result"')
    ]
    first, last = results[0], results[-1]
    assert len(results) == 2 and first["subtype"] == "error_during_execution"
    assert last["total_cost_usd"] > first["total_cost_usd"] > 0  # a running total
    tokens_in = sum(r["usage"]["input_tokens"] for r in results)
    tokens_out = sum(r["usage"]["output_tokens"] for r in results)
    assert events.totals == (tokens_in, tokens_out, pytest.approx(last["total_cost_usd"]))
