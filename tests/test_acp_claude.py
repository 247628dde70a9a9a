"""The ACP backend with the REAL claude-agent-acp adapter (npm, in .tools) running the real
Claude Code CLI offline against the Messages API stand-in."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from acp_support import Answer, AskingEvents, claude_acp_env, tool
from agent_support import RecordingEvents, make_job, make_repo, wait_dead

from orchestrator_tui.agents import make_backend, procgroup
from orchestrator_tui.core.config import AgentProfile

try:
    from fakes.anthropic_api import FakeAnthropic
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.anthropic_api import FakeAnthropic

pytestmark = pytest.mark.timeout(90)
RUN_PY = "python3 -c \"open('ran.txt', 'w').write('yes')\""


@pytest.fixture(autouse=True)
def no_sandbox_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    # With IS_SANDBOX set, claude-agent-acp 0.49 run as root passes the CLI a flag that
    # Claude Code 2.1.197 refuses (exit 1 at session/new): the agent's env inherits ours.
    monkeypatch.delenv("IS_SANDBOX", raising=False)


@pytest.fixture(scope="module")
def adapter() -> str:
    return tool("claude-agent-acp")


@pytest.fixture(scope="module")
def api():
    with FakeAnthropic() as server:
        yield server


def run_acp(tmp_path: Path, api: FakeAnthropic, adapter: str, prompt: str, events, **job):
    workdir = make_repo(tmp_path / "work", {"README.md": "project\n"})
    profile = AgentProfile(
        backend="acp", command=[adapter], env=claude_acp_env(api.url, tmp_path / "home")
    )
    backend = make_backend(tmp_path, "claude-acp", profile)
    cancel = job.pop("cancel", threading.Event())
    job_ = make_job(tmp_path, prompt, profile, workdir=workdir, **job)
    return backend.run(job_, events, cancel), workdir, job_


def test_write_runs_in_accept_edits_and_reports_lines_usage_cost_files(
    tmp_path: Path, api: FakeAnthropic, adapter: str
) -> None:
    events = RecordingEvents()
    result, workdir, job = run_acp(
        tmp_path, api, adapter, "WRITE_FILE: notes.txt\nCONTENT: from acp", events
    )
    assert result.ok, (result, events.lines)
    assert (workdir / "notes.txt").read_text() == "from acp\n"
    assert result.files == ("notes.txt",)
    assert result.session_id and result.final_text == "done"
    assert "▸ Write notes.txt" in events.lines, events.lines
    assert any(line.startswith("■ end_turn") for line in events.lines)
    tokens_in, tokens_out, cost = events.totals
    assert tokens_in >= 240 and tokens_out >= 60 and cost > 0
    log = job.log_path.read_text()
    assert '"method": "session/prompt"' in log and "sk-ant-api03-fake-key" not in log


def test_allowed_request_runs_the_command(tmp_path: Path, api: FakeAnthropic, adapter) -> None:
    events = AskingEvents(lambda request: Answer("allow", by="cli"))
    result, workdir, _ = run_acp(tmp_path, api, adapter, f"BASH: {RUN_PY}", events)
    assert result.ok and result.reason == "ok", (result, events.lines)
    [request] = events.requests
    assert request.tool == "Bash" and request.summary == RUN_PY and request.subject == RUN_PY
    assert request.options == ("allow", "allow_session", "deny")
    assert (workdir / "ran.txt").read_text() == "yes"
    assert "? P1 waits for you: Bash " + RUN_PY in events.lines
    assert any(line.startswith("? P1 allow by cli") for line in events.lines)


def test_a_persons_no_is_reported_and_does_not_fail_the_task(
    tmp_path: Path, api: FakeAnthropic, adapter: str
) -> None:
    events = AskingEvents(lambda request: Answer("deny", "not now", by="app"))
    result, workdir, _ = run_acp(tmp_path, api, adapter, f"BASH: {RUN_PY}", events)
    assert result.ok and result.reason == f"denied by the user: Bash ({RUN_PY})", result
    assert not (workdir / "ran.txt").exists()


def test_without_anyone_to_ask_the_request_is_refused(
    tmp_path: Path, api: FakeAnthropic, adapter: str
) -> None:
    events = RecordingEvents()
    result, workdir, _ = run_acp(tmp_path, api, adapter, f"BASH: {RUN_PY}", events)
    assert not result.ok and result.reason == f"permission denied: Bash ({RUN_PY})", result
    assert not (workdir / "ran.txt").exists()


def test_cancel_while_a_request_waits_withdraws_it_and_kills_the_group(
    tmp_path: Path, api: FakeAnthropic, adapter: str
) -> None:
    events = AskingEvents(lambda request: None)  # nobody answers
    cancel = threading.Event()
    threading.Thread(target=lambda: events.asked.wait(60) and cancel.set(), daemon=True).start()
    started = time.monotonic()
    result, workdir, job = run_acp(tmp_path, api, adapter, f"BASH: {RUN_PY}", events, cancel=cancel)
    assert result.reason == "cancelled" and not result.ok
    assert time.monotonic() - started < 30
    assert events.withdrawn == [("P1", "the agent's turn ended before an answer")]
    assert not (workdir / "ran.txt").exists()
    assert not procgroup.kept_at(job.log_path.with_suffix(".pid")).exists()
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    token_holders = [p for p in pids if _has_workdir(p, workdir)]
    assert all(wait_dead(p) for p in token_holders)


def _has_workdir(pid: int, workdir: Path) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/cwd") == str(workdir)
    except OSError:
        return False


def _in_turn(events: AskingEvents, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        channel = events.channel
        if channel is not None and channel.in_turn and channel.session_id:
            return channel
        time.sleep(0.05)
    raise AssertionError("the agent never started its turn")


def test_a_message_said_mid_turn_is_the_next_prompt(
    tmp_path: Path, api: FakeAnthropic, adapter: str
) -> None:
    events = AskingEvents(lambda request: None)
    said: list[str] = []

    def speak() -> None:
        said.append(_in_turn(events).say("REPLY: second answer"))

    threading.Thread(target=speak, daemon=True).start()
    result, _, _ = run_acp(tmp_path, api, adapter, "DELAY_MS: 1500\nREPLY: first answer", events)
    assert said == [""]
    assert result.ok and result.final_text == "second answer", (result, events.lines)
    assert [line for line in events.lines if line.startswith("■ end_turn")][1:], events.lines
    prompts = [str(body["messages"]) for body in api.messages_requests()]
    assert any("REPLY: second answer" in text for text in prompts)


def test_interrupt_ends_the_turn_and_the_next_message_starts_another(
    tmp_path: Path, api: FakeAnthropic, adapter: str
) -> None:
    events = AskingEvents(lambda request: None)
    answers: list[str] = []

    def interrupt_then_say() -> None:
        channel = _in_turn(events)
        time.sleep(0.5)
        answers.append(channel.interrupt())
        deadline = time.monotonic() + 30
        while not channel.holding() and time.monotonic() < deadline:
            time.sleep(0.05)
        answers.append(channel.say("REPLY: after the interrupt"))

    threading.Thread(target=interrupt_then_say, daemon=True).start()
    result, _, _ = run_acp(tmp_path, api, adapter, "DELAY_MS: 6000\nREPLY: slow", events)
    assert answers == ["", ""]
    assert result.ok, (result, events.lines)
    turns = [line.split(" ·")[0] for line in events.lines if line.startswith("■ ")]
    assert turns == ["■ cancelled", "■ end_turn"], events.lines
    # (claude-agent-acp 0.49 may answer the next prompt with the cancelled request's late
    # reply — observed: final text "slow" — so the text is not asserted here)


def test_agents_shows_acp_profiles_and_their_initialize_only_when_probed(
    tmp_path: Path, adapter: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    from orchestrator_tui.cli import main

    monkeypatch.setenv("COLUMNS", "250")
    (tmp_path / ".orchestrator").mkdir()
    (tmp_path / ".orchestrator" / "config.toml").write_text(
        f'[agents]\ndefault = "acp"\n[agents.acp]\nbackend = "acp"\ncommand = ["{adapter}"]\n'
    )
    assert main(["agents", "-C", str(tmp_path)]) == 0
    assert "ACP (--probe: its answer to initialize)" in capsys.readouterr().out
    assert main(["agents", "-C", str(tmp_path), "--probe"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "@agentclientprotocol/claude-agent-acp 0.49.0" in out and "promptQueueing" in out
