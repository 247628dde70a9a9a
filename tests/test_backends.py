"""Each backend against the fake CLIs (tests/fakes/bin), which print the real formats."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
from agent_support import RecordingEvents, fake, git, make_job, make_repo

from orchestrator_tui.agents import make_backend
from orchestrator_tui.core.config import AgentProfile
from orchestrator_tui.core.models import Task
from orchestrator_tui.core.protocols import AgentResult

WRITE = "WRITE_FILE: src/x.py\nCONTENT: X = 1\n"


def run_agent(
    tmp_path: Path,
    backend: str,
    prompt: str,
    cancel: threading.Event | None = None,
    profile: dict | None = None,
    **job_fields: object,
) -> tuple[AgentResult, RecordingEvents, list[dict]]:
    """Run `backend` (its fake) once; returns the result, the events and the fake's argv log."""
    invocations = tmp_path / "invocations.jsonl"
    settings = {"backend": backend, "executable": fake(backend), **(profile or {})}
    agent_profile = AgentProfile(**settings)
    env = {"HOME": str(tmp_path / "home"), "FAKE_AGENT_LOG": str(invocations)}
    env.update(job_fields.pop("env", {}))  # type: ignore[arg-type]
    job = make_job(tmp_path, prompt, agent_profile, env=env, **job_fields)
    events = RecordingEvents()
    result = make_backend(tmp_path, backend, agent_profile).run(
        job, events, cancel or threading.Event()
    )
    calls = []
    if invocations.exists():
        calls = [json.loads(line) for line in invocations.read_text().splitlines()]
    return result, events, calls


def result_line(tmp_path: Path) -> dict:
    """The `result` JSON line of the claude run, as the task log holds it."""
    for line in (tmp_path / "logs" / "T1.log").read_text().splitlines():
        if line.startswith('{"type":"result"'):
            return json.loads(line)
    raise AssertionError("no result line in the log")


# ---- claude -------------------------------------------------------------------------------


def test_claude_ok_writes_reports_usage_session_and_files(tmp_path: Path) -> None:
    result, events, calls = run_agent(tmp_path, "claude", "SCENARIO: ok\n" + WRITE)
    assert result.ok and result.reason == "ok" and result.exit_code == 0
    assert (tmp_path / "work" / "src" / "x.py").read_text() == "X = 1\n"
    assert result.files == ("src/x.py",)
    final = result_line(tmp_path)
    assert result.session_id == final["session_id"] and result.session_id
    assert result.final_text == "done"
    usage = final["usage"]
    expected_in = (
        usage["input_tokens"]
        + usage["cache_creation_input_tokens"]
        + usage["cache_read_input_tokens"]
    )
    assert events.totals == (expected_in, usage["output_tokens"], final["total_cost_usd"])
    assert len(events.usages) > 1  # increments while it ran, not one lump at the end
    assert "▸ Write src/x.py" in events.lines
    argv = calls[0]["argv"]
    assert argv[:8] == [
        "-p",
        "--input-format",
        "stream-json",  # the prompt came on stdin (claude_control.py)
        "--output-format",
        "stream-json",
        "--verbose",
        "--permission-prompt-tool",
        "stdio",
    ]
    assert not any("SCENARIO" in arg for arg in argv)
    assert argv[argv.index("--permission-mode") + 1] == "acceptEdits"


def test_claude_profile_flags_and_resume_reach_the_cli(tmp_path: Path) -> None:
    profile = {
        "model": "claude-sonnet-4-5",
        "permission_mode": "default",
        "allowed_tools": ["Write", "Bash(pytest:*)"],
        "max_turns": 7,
        "append_system_prompt": "Be brief.",
        "args": ["--no-chrome"],
    }
    first, _, calls = run_agent(tmp_path, "claude", "SCENARIO: ok\nBASH: pytest -q", None, profile)
    assert first.ok, first.reason  # Bash(pytest:*) is allowed
    argv = calls[0]["argv"]
    for flag, value in (
        ("--model", "claude-sonnet-4-5"),
        ("--permission-mode", "default"),
        ("--max-turns", "7"),
        ("--append-system-prompt", "Be brief."),
    ):
        assert argv[argv.index(flag) + 1] == value
    assert argv[-3:] == ["--allowedTools", "Write", "Bash(pytest:*)"]
    assert "--no-chrome" in argv

    again, _, calls = run_agent(
        tmp_path, "claude", "SCENARIO: ok", None, profile, resume_session=first.session_id
    )
    assert again.ok and again.session_id == first.session_id
    argv = calls[-1]["argv"]
    assert argv[argv.index("--resume") + 1] == first.session_id


@pytest.mark.parametrize(
    ("prompt", "profile", "reason", "exit_code"),
    [
        (
            "SCENARIO: api_error",
            {},
            "agent reported error: API error 400: fake API error (requested by the scenario)",
            1,
        ),
        ("SCENARIO: permission_denied", {}, "permission denied: Bash (rm -rf build)", 0),
        ("SCENARIO: max_turns", {"max_turns": 2}, "max turns reached (3 turns)", 1),
        ("SCENARIO: crash", {}, "exit 2: Error: fake crash (SCENARIO: crash)", 2),
        ("SCENARIO: no_result", {}, "no result: claude exited 0 without a result line", 0),
    ],
)
def test_claude_failures_say_what_happened(
    tmp_path: Path, prompt: str, profile: dict, reason: str, exit_code: int
) -> None:
    result, _, _ = run_agent(tmp_path, "claude", prompt, None, profile)
    assert not result.ok
    assert result.reason == reason
    assert result.exit_code == exit_code
    assert result.session_id  # kept, so the task can be resumed


def test_claude_default_permission_mode_refusing_write_is_a_denial(tmp_path: Path) -> None:
    result, _, _ = run_agent(
        tmp_path, "claude", "SCENARIO: ok\n" + WRITE, None, {"permission_mode": "default"}
    )
    assert not result.ok and result.reason.startswith("permission denied: Write (")
    assert result.files == ()
    assert not (tmp_path / "work" / "src" / "x.py").exists()


def test_claude_malformed_and_non_utf8_lines_are_kept_as_text(tmp_path: Path) -> None:
    result, events, _ = run_agent(tmp_path, "claude", "SCENARIO: malformed_json")
    assert result.ok, result.reason
    assert "this line is not JSON at all" in events.lines
    assert "[1, 2, 3]" in events.lines
    result, events, _ = run_agent(tmp_path, "claude", "SCENARIO: non_utf8")
    assert result.ok
    assert any("caf\ufffd" in line for line in events.lines)


def test_claude_hang_times_out_with_a_stall_warning(tmp_path: Path) -> None:
    result, events, _ = run_agent(
        tmp_path, "claude", "SCENARIO: hang", timeout=1.2, stall_after=0.4
    )
    assert not result.ok and result.reason == "timeout after 1.2 s"
    assert result.exit_code is None
    assert any("no output for" in text for _, text in events.notices)


def test_claude_cancel_stops_a_slow_agent(tmp_path: Path) -> None:
    cancel = threading.Event()
    log = tmp_path / "logs" / "T1.log"

    def cancel_once_started() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if log.exists() and '"subtype":"init"' in log.read_text(errors="replace"):
                break
            time.sleep(0.02)
        cancel.set()

    watcher = threading.Thread(target=cancel_once_started)
    watcher.start()
    started = time.monotonic()
    result, events, _ = run_agent(
        tmp_path, "claude", "SCENARIO: slow", cancel, env={"FAKE_AGENT_SLOW_DELAY": "5"}
    )
    watcher.join()
    assert not result.ok and result.reason == "cancelled"
    assert time.monotonic() - started < 15  # far less than its 5 slow steps of 5 s
    assert events.lines and events.lines[0].startswith("● claude")


def test_claude_long_prompts_go_through_stdin(tmp_path: Path) -> None:
    prompt = "SCENARIO: api_error\n" + "context line\n" * 12_000
    result, _, calls = run_agent(tmp_path, "claude", prompt)
    assert "API error 400" in result.reason  # the scenario came through stdin
    assert all(len(arg) < 1000 for arg in calls[0]["argv"])


def test_a_missing_executable_names_the_setting_to_fix(tmp_path: Path) -> None:
    result, _, _ = run_agent(
        tmp_path, "claude", "hi", None, {"executable": str(tmp_path / "nowhere" / "claude")}
    )
    assert not result.ok and result.exit_code is None
    assert result.reason.startswith(f"executable not found: {tmp_path}/nowhere/claude")
    assert "agents.claude.executable" in result.reason


# ---- codex --------------------------------------------------------------------------------


def test_codex_ok_edits_in_the_sandbox_and_reports_tokens(tmp_path: Path) -> None:
    result, events, calls = run_agent(tmp_path, "codex", "SCENARIO: ok\n" + WRITE)
    assert result.ok, result.reason
    assert (tmp_path / "work" / "src" / "x.py").read_text() == "X = 1\n"
    assert result.files == ("src/x.py",)
    assert result.session_id and result.final_text == "done"
    assert events.totals == (2400, 60, 0.0)
    argv = calls[0]["argv"]
    assert argv[:2] == ["exec", "--json"]
    assert argv[argv.index("--sandbox") + 1] == "workspace-write"
    assert argv[-2:] == ["--", "SCENARIO: ok\n" + WRITE]

    again, _, calls = run_agent(tmp_path, "codex", "SCENARIO: ok", resume_session=result.session_id)
    assert again.ok and again.session_id == result.session_id
    assert calls[-1]["argv"][-4:-2] == ["resume", result.session_id]


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("api_error", "agent reported error: unexpected status 400 Bad Request"),
        ("permission_denied", 'permission denied: command `bash -lc "rm -rf build"`'),
        ("max_turns", "agent reported error: Codex ran out of room in the model's context"),
        ("crash", "exit 2: thread 'main' panicked"),
        ("no_result", "no result: codex ended without turn.completed"),
    ],
)
def test_codex_failures(tmp_path: Path, scenario: str, reason: str) -> None:
    result, _, _ = run_agent(tmp_path, "codex", f"SCENARIO: {scenario}")
    assert not result.ok
    assert result.reason.startswith(reason), result.reason


# ---- gemini -------------------------------------------------------------------------------


def test_gemini_ok_edits_without_asking_and_reports_tokens(tmp_path: Path) -> None:
    result, events, calls = run_agent(tmp_path, "gemini", "SCENARIO: ok\n" + WRITE)
    assert result.ok, result.reason
    assert (tmp_path / "work" / "src" / "x.py").read_text() == "X = 1\n"
    assert result.files == ("src/x.py",)
    assert result.session_id and result.final_text == "done"
    usage = events.usages
    assert len(usage) == 1 and usage[0][0] > 0 and usage[0][1] > 0 and usage[0][2] == 0.0
    argv = calls[0]["argv"]
    assert argv[argv.index("--approval-mode") + 1] == "auto_edit"
    assert "I'll take care of this." in events.lines


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("api_error", 'agent reported error: API Error: {"error": {"code": 400'),
        ("permission_denied", "permission denied: run_shell_command (rm -rf build)"),
        ("max_turns", "turn limit reached (exit 53)"),
        ("crash", "exit 2: TypeError: fake crash"),
        ("no_result", "no result: gemini ended without a result event"),
    ],
)
def test_gemini_failures(tmp_path: Path, scenario: str, reason: str) -> None:
    result, _, _ = run_agent(tmp_path, "gemini", f"SCENARIO: {scenario}")
    assert not result.ok
    assert result.reason.startswith(reason), result.reason


# ---- aider --------------------------------------------------------------------------------


def test_aider_ok_edits_reports_cost_and_leaves_commits_to_us(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    result, events, calls = run_agent(
        tmp_path,
        "aider",
        "SCENARIO: ok\n" + WRITE,
        workdir=repo,
        task=Task(id="T1", title="t", files=("README.md", "src/*.py", "missing.py")),
    )
    assert result.ok, result.reason
    assert (repo / "src" / "x.py").read_text() == "X = 1\n"
    assert result.files == ("src/x.py",)
    assert events.totals == (2400, 60, 0.0081)
    assert git(repo, "rev-parse", "HEAD") == head  # --no-auto-commits
    argv = calls[0]["argv"]
    assert argv[argv.index("--message-file") + 1].endswith("T1.md")
    assert "--yes-always" in argv and "--no-auto-commits" in argv
    assert argv[-2:] == ["--", "README.md"]  # existing declared files only, no globs


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("api_error", "agent reported error: litellm.BadRequestError"),
        ("max_turns", "agent reported error: Only 3 reflections allowed"),
        ("crash", "exit 2: RuntimeError: fake crash"),
        ("no_result", "no result: aider printed no token usage"),
    ],
)
def test_aider_failures(tmp_path: Path, scenario: str, reason: str) -> None:
    make_repo(tmp_path / "work")
    result, _, _ = run_agent(tmp_path, "aider", f"SCENARIO: {scenario}")
    assert not result.ok
    assert result.reason.startswith(reason), result.reason


# ---- command and shell --------------------------------------------------------------------

RECORD_ARGS = (
    "import json, os, sys; "
    "json.dump({'argv': sys.argv[1:], 'task': os.environ['ORCH_TASK_ID'], "
    "'extra': os.environ.get('EXTRA'), 'cwd': os.getcwd()}, open('seen.json', 'w')); "
    "print('recorded'); sys.exit(int(os.environ.get('CODE', '0')))"
)


def test_command_template_is_filled_per_argument_without_a_shell(tmp_path: Path) -> None:
    profile = AgentProfile(
        backend="command",
        command=[
            sys.executable,
            "-c",
            RECORD_ARGS,
            "{prompt_file}",
            "--in={workdir}",
            "{task_id}; rm -rf /",
            "{unknown}",
        ],
        env={"EXTRA": "from the profile"},
    )
    job = make_job(tmp_path, "prompt text", profile)
    events = RecordingEvents()
    result = make_backend(tmp_path, "cmd", profile).run(job, events, threading.Event())
    assert result.ok and result.reason == "ok"
    seen = json.loads((tmp_path / "work" / "seen.json").read_text())
    assert seen["argv"] == [
        str(job.prompt_file),
        f"--in={job.workdir}",
        "T1; rm -rf /",
        "{unknown}",
    ]
    assert seen["task"] == "T1" and seen["extra"] == "from the profile"
    assert seen["cwd"] == str(job.workdir)
    assert events.lines == ["recorded"]

    failing = make_job(tmp_path, "x", profile, env={"CODE": "4"})
    result = make_backend(tmp_path, "cmd", profile).run(failing, events, threading.Event())
    assert not result.ok and result.reason == "exit 4"


def test_a_command_profile_without_a_command_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs `command`"):
        make_backend(tmp_path, "broken", AgentProfile(backend="command"))


def run_shell(tmp_path: Path, line: str | None, shell: bool = False) -> tuple:
    profile = AgentProfile(backend="shell", shell=shell)
    job = make_job(tmp_path, "p", profile, task=Task(id="T1", title="t", run=line))
    events = RecordingEvents()
    result = make_backend(tmp_path, "shell", profile).run(job, events, threading.Event())
    return result, events


def test_shell_runs_the_run_line_split_not_interpreted(tmp_path: Path) -> None:
    result, events = run_shell(tmp_path, "printf '%s\\n' 'a b' ';' '$(whoami)' '*'")
    assert result.ok
    assert events.lines == ["a b", ";", "$(whoami)", "*"]
    result, events = run_shell(tmp_path, "echo one; echo two", shell=True)
    assert result.ok and events.lines == ["one", "two"]


def test_a_run_lines_relative_program_is_the_workspaces_when_the_worktree_lacks_it(
    tmp_path: Path,
) -> None:
    """A task runs in its git worktree, which has no untracked folders: `.venv/bin/python`
    there is the workspace's virtualenv (found in a trial on more-itertools: "executable
    not found: .venv/bin/python")."""
    workspace, worktree = tmp_path / "ws", tmp_path / "ws" / ".orchestrator" / "worktrees" / "T1"
    tool = workspace / ".venv" / "bin" / "tool"
    tool.parent.mkdir(parents=True)
    tool.write_text('#!/bin/sh\necho "workspace\'s $1"\n')
    tool.chmod(0o755)
    profile = AgentProfile(backend="shell")
    task = Task(id="T1", title="t", run=".venv/bin/tool venv")
    job = make_job(tmp_path, "p", profile, task=task, workdir=worktree, workspace=workspace)
    events = RecordingEvents()
    result = make_backend(tmp_path, "shell", profile).run(job, events, threading.Event())
    assert result.ok, result.reason
    assert events.lines == ["workspace's venv"]
    own = worktree / ".venv" / "bin" / "tool"  # a worktree's own file comes first
    own.parent.mkdir(parents=True)
    own.write_text('#!/bin/sh\necho "worktree\'s $1"\n')
    own.chmod(0o755)
    events = RecordingEvents()
    assert make_backend(tmp_path, "shell", profile).run(job, events, threading.Event()).ok
    assert events.lines == ["worktree's venv"]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (None, "task T1 has no `run:` line for the shell backend"),
        ("echo 'unclosed", "task T1: cannot split its `run:` line: No closing quotation"),
        ("false", "exit 1"),
        ("no-such-tool-xyz --flag", "executable not found: no-such-tool-xyz"),
    ],
)
def test_shell_bad_lines(tmp_path: Path, line: str | None, reason: str) -> None:
    result, _ = run_shell(tmp_path, line)
    assert not result.ok and result.reason == reason


def test_every_backend_of_the_config_can_be_made(tmp_path: Path) -> None:
    for backend in ("claude", "codex", "gemini", "aider", "shell", "simulated"):
        assert make_backend(tmp_path, backend, AgentProfile(backend=backend)) is not None


def test_a_command_profiles_relative_program_is_found_the_same_way(tmp_path: Path) -> None:
    workspace, worktree = tmp_path / "ws", tmp_path / "ws" / ".orchestrator" / "worktrees" / "T1"
    tool = workspace / ".venv" / "bin" / "agent"
    tool.parent.mkdir(parents=True)
    tool.write_text('#!/bin/sh\necho "ran for $1"\n')
    tool.chmod(0o755)
    profile = AgentProfile(backend="command", command=[".venv/bin/agent", "{task_id}"])
    job = make_job(tmp_path, "p", profile, workdir=worktree, workspace=workspace)
    events = RecordingEvents()
    result = make_backend(tmp_path, "mine", profile).run(job, events, threading.Event())
    assert result.ok, result.reason
    assert events.lines == ["ran for T1"]
