"""The test fakes work: the loopback Messages API stand-in drives the real Claude Code CLI,
and the fake agent executables print each CLI's real headless output format."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

try:  # tests/ is a rootdir-style directory (no __init__.py) unless someone adds one
    from fakes.anthropic_api import FakeAnthropic, Reply, ToolUse
    from fakes.claude_env import claude_env, claude_executable
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.anthropic_api import FakeAnthropic, Reply, ToolUse
    from tests.fakes.claude_env import claude_env, claude_executable

FAKES_BIN = Path(__file__).resolve().parent / "fakes" / "bin"
FAKE_CLIS = ("claude", "codex", "gemini", "aider")
SCENARIOS = (
    "ok",
    "api_error",
    "permission_denied",
    "max_turns",
    "malformed_json",
    "crash",
    "no_result",
    "hang",
    "flood",
    "orphan",
    "non_utf8",
    "slow",
)
TIMEOUT = 20

# Fields docs/agent-clis.md documents; every Claude Code version must have them.
DOCUMENTED_KEYS = {
    "init": {"type", "subtype", "session_id", "cwd", "model", "permissionMode", "tools"},
    "assistant": {"type", "message", "parent_tool_use_id", "session_id"},
    "user": {"type", "message", "session_id", "tool_use_result"},
    "result": {
        "type",
        "subtype",
        "is_error",
        "duration_ms",
        "num_turns",
        "session_id",
        "total_cost_usd",
        "usage",
        "modelUsage",
        "permission_denials",
    },
}


# ---------------------------------------------------------------- helpers


def parse_json_lines(stdout: str | bytes) -> list[dict[str, Any]]:
    text = stdout.decode() if isinstance(stdout, bytes) else stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=path, check=True, timeout=TIMEOUT)
    return path


def line_kind(obj: dict[str, Any]) -> str:
    """init / assistant / user / result / api_error_assistant ... for comparing key sets."""
    if obj["type"] == "system":
        return str(obj.get("subtype"))
    if obj["type"] == "assistant" and "error" in obj:
        return "assistant_error"
    if obj["type"] == "result":
        if obj["subtype"] == "error_max_turns":
            return "result_max_turns"
        return "result_error" if obj["is_error"] else "result"
    if obj["type"] == "user" and isinstance(obj.get("tool_use_result"), dict):
        return "user_" + str(obj["tool_use_result"].get("type", "dict"))
    return str(obj["type"])


def shapes(lines: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Top-level (and a few nested) key sets by line kind; the first line of a kind wins."""
    found: dict[str, set[str]] = {}
    for obj in lines:
        kind = line_kind(obj)
        found.setdefault(kind, set(obj))
        if obj["type"] in ("assistant", "user"):
            found.setdefault(kind + ".message", set(obj["message"]))
        if isinstance(obj.get("tool_use_result"), dict):
            found.setdefault(kind + ".tool_use_result", set(obj["tool_use_result"]))
        if obj["type"] == "result":
            found.setdefault(kind + ".usage", set(obj["usage"]))
            for usage in obj["modelUsage"].values():
                found.setdefault(kind + ".modelUsage[]", set(usage))
            for denial in obj["permission_denials"]:
                found.setdefault(kind + ".permission_denials[]", set(denial))
    return found


# ---------------------------------------------------------------- the stand-in alone


def post(url: str, body: dict[str, Any]) -> tuple[int, bytes, str]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


def sse_data(raw: bytes) -> list[dict[str, Any]]:
    events = []
    for block in raw.decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            data = json.loads(lines["data"])
            assert data["type"] == lines["event"]
            events.append(data)
    return events


def agent_request(prompt: str, *history: dict[str, Any], stream: bool = True) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1000,
        "stream": stream,
        "system": [{"type": "text", "text": "You are an agent.\n - Working directory: /work/x"}],
        "tools": [{"name": "Write", "input_schema": {"type": "object"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": prompt}]},
            {"role": "system", "content": "a mid-conversation system message"},
            *history,
        ],
    }


def test_stand_in_answers_probe_count_tokens_and_errors() -> None:
    with FakeAnthropic() as api:
        assert api.url.startswith("http://127.0.0.1:")
        probe = urllib.request.Request(api.url + "/", method="HEAD")
        with urllib.request.urlopen(probe, timeout=TIMEOUT) as response:
            assert response.status == 200
        status, body, _ = post(api.url + "/v1/messages/count_tokens", agent_request("hi"))
        assert status == 200
        assert json.loads(body)["input_tokens"] > 0
        status, body, _ = post(api.url + "/v1/messages?beta=true", agent_request("API_ERROR_400"))
        assert status == 400
        error = json.loads(body)
        assert error["type"] == "error"
        assert error["error"]["type"] == "invalid_request_error"
        assert error["error"]["message"]
        assert [r.method for r in api.requests] == ["HEAD", "POST", "POST"]


def test_stand_in_streams_a_write_then_a_final_text() -> None:
    prompt = "Please do it.\nWRITE_FILE: notes/a.txt\nCONTENT: line one\\nline two"
    with FakeAnthropic() as api:
        status, raw, content_type = post(api.url + "/v1/messages", agent_request(prompt))
        assert status == 200
        assert content_type.startswith("text/event-stream")
        events = sse_data(raw)
        kinds = [e["type"] for e in events]
        assert kinds[0] == "message_start"
        assert kinds[-2:] == ["message_delta", "message_stop"]
        assert events[0]["message"]["usage"]["input_tokens"] > 0
        assert events[-2]["delta"]["stop_reason"] == "tool_use"
        assert events[-2]["usage"]["output_tokens"] > 0
        tool_start = next(
            e
            for e in events
            if e["type"] == "content_block_start" and e["content_block"]["type"] == "tool_use"
        )
        assert tool_start["content_block"]["name"] == "Write"
        partial = "".join(
            e["delta"]["partial_json"]
            for e in events
            if e["type"] == "content_block_delta" and e["delta"]["type"] == "input_json_delta"
        )
        assert json.loads(partial) == {
            "file_path": "/work/x/notes/a.txt",
            "content": "line one\nline two\n",
        }
        tool_id = tool_start["content_block"]["id"]
        history = [
            {"role": "assistant", "content": [{"type": "tool_use", "id": tool_id}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id}]},
        ]
        status, raw, _ = post(api.url + "/v1/messages", agent_request(prompt, *history))
        text = "".join(
            e["delta"]["text"]
            for e in sse_data(raw)
            if e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta"
        )
        assert text == "done"
        status, body, _ = post(api.url + "/v1/messages", agent_request(prompt, stream=False))
        message = json.loads(body)
        assert message["type"] == "message"
        assert message["content"][1]["type"] == "tool_use"
        assert len(api.messages_requests()) == 3


def test_stand_in_takes_a_custom_responder_and_a_default_prompt() -> None:
    def responder(body: dict[str, Any]) -> Reply:
        return Reply(text="custom", tool_uses=(ToolUse("Read", {"file_path": "/x"}),))

    with FakeAnthropic(responder=responder) as api:
        _, body, _ = post(api.url + "/v1/messages", agent_request("hi", stream=False))
        assert [b["type"] for b in json.loads(body)["content"]] == ["text", "tool_use"]
    with FakeAnthropic(default_prompt="API_ERROR_529") as api:
        status, _, _ = post(api.url + "/v1/messages", agent_request("no marker here"))
        assert status == 529


# ---------------------------------------------------------------- the real CLI


@dataclass(frozen=True)
class CliRun:
    returncode: int
    lines: list[dict[str, Any]]
    stderr: str
    cwd: Path


@pytest.fixture(scope="module")
def real_claude() -> str:
    executable = claude_executable()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("the real Claude Code CLI is required in CI (set ORCH_CLAUDE_BIN)")
        pytest.skip("the real Claude Code CLI is not installed")
    return executable


REAL_CASES = {
    "write": ("Create the file.\nWRITE_FILE: hello.txt\nCONTENT: hello world", []),
    "api_error": ("Fail please.\nAPI_ERROR_400", []),
    "bash": ("Deploy it.\nBASH: make deploy", []),
    "max_turns": ("Loop.\nTOOL_LOOP", ["--max-turns", "1"]),
}


@pytest.fixture(scope="module")
def real_runs(real_claude: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, CliRun]:
    """Each REAL_CASES prompt run once by the real CLI, in parallel, against one stand-in."""
    root = tmp_path_factory.mktemp("real-claude")

    def run(name: str, api_url: str) -> CliRun:
        prompt, extra = REAL_CASES[name]
        cwd = make_repo(root / name / "repo")
        home = root / name / "home"
        home.mkdir()
        argv = [real_claude, "-p", prompt, "--output-format", "stream-json", "--verbose"]
        argv += ["--permission-mode", "acceptEdits", *extra]
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=claude_env(api_url, home),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return CliRun(done.returncode, parse_json_lines(done.stdout), done.stderr, cwd)

    with FakeAnthropic() as api, ThreadPoolExecutor(len(REAL_CASES)) as pool:
        futures = {name: pool.submit(run, name, api.url) for name in REAL_CASES}
        return {name: future.result() for name, future in futures.items()}


def test_real_claude_writes_a_file_through_the_stand_in(real_runs: dict[str, CliRun]) -> None:
    run = real_runs["write"]
    assert run.returncode == 0, run.stderr
    assert (run.cwd / "hello.txt").read_text() == "hello world\n"
    assert run.lines[0]["type"] == "system"
    assert run.lines[0]["subtype"] == "init"
    result = run.lines[-1]
    assert result["type"] == "result"
    assert result["is_error"] is False
    assert result["total_cost_usd"] > 0
    assert result["permission_denials"] == []
    tools = [
        block["name"]
        for line in run.lines
        if line["type"] == "assistant"
        for block in line["message"]["content"]
        if block["type"] == "tool_use"
    ]
    assert tools == ["Write"]


def test_real_claude_api_error_exits_1_with_is_error(real_runs: dict[str, CliRun]) -> None:
    run = real_runs["api_error"]
    assert run.returncode == 1
    result = run.lines[-1]
    assert result["type"] == "result"
    assert result["is_error"] is True
    assert result["api_error_status"] == 400


def test_real_claude_bash_under_accept_edits_is_denied(real_runs: dict[str, CliRun]) -> None:
    run = real_runs["bash"]
    assert run.returncode == 0, run.stderr
    result = run.lines[-1]
    assert result["is_error"] is False
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Bash"]
    assert result["permission_denials"][0]["tool_input"]["command"] == "make deploy"


def test_real_claude_max_turns(real_runs: dict[str, CliRun]) -> None:
    run = real_runs["max_turns"]
    assert run.returncode == 1
    assert run.lines[-1]["subtype"] == "error_max_turns"


def run_fake_claude(prompt: str, cwd: Path, *extra: str) -> CliRun:
    done = subprocess.run(
        [
            str(FAKES_BIN / "claude"),
            "-p",
            prompt,
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "acceptEdits",
            *extra,
        ],
        cwd=cwd,
        env=fake_env(cwd.parent),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    return CliRun(done.returncode, parse_json_lines(done.stdout), done.stderr, cwd)


def test_fake_claude_lines_have_the_real_shapes(
    real_claude: str, real_runs: dict[str, CliRun], tmp_path: Path
) -> None:
    real_version = subprocess.run(
        [real_claude, "--version"], capture_output=True, text=True, timeout=TIMEOUT
    ).stdout.strip()
    fake_version = subprocess.run(
        [str(FAKES_BIN / "claude"), "--version"],
        env=fake_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    ).stdout.strip()
    for name, (prompt, extra) in REAL_CASES.items():
        fake = run_fake_claude(prompt, make_repo(tmp_path / name / "repo"), *extra)
        real = real_runs[name]
        assert fake.returncode == real.returncode, name
        real_shapes, fake_shapes = shapes(real.lines), shapes(fake.lines)
        if real_version == fake_version:
            assert fake_shapes == real_shapes, name
        else:  # another CLI version: hold both to the documented fields only
            for kind, keys in DOCUMENTED_KEYS.items():
                assert keys <= real_shapes.get(kind, keys), (name, kind)
                assert keys <= fake_shapes.get(kind, keys), (name, kind)
        assert real.lines[-1]["subtype"] == fake.lines[-1]["subtype"]
        assert real.lines[-1]["is_error"] == fake.lines[-1]["is_error"]
        real_denied = [d["tool_name"] for d in real.lines[-1]["permission_denials"]]
        fake_denied = [d["tool_name"] for d in fake.lines[-1]["permission_denials"]]
        assert real_denied == fake_denied, name
    assert (tmp_path / "write" / "repo" / "hello.txt").read_text() == "hello world\n"


# ---------------------------------------------------------------- the fake executables


def fake_argv(cli: str, prompt: str) -> list[str]:
    """Each fake run the way an orchestrator backend would run the real CLI."""
    program = str(FAKES_BIN / cli)
    if cli == "claude":
        return [
            program,
            "-p",
            prompt,
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            "acceptEdits",
        ]
    if cli == "codex":
        return [
            program,
            "exec",
            "--json",
            "--sandbox",
            "workspace-write",
            "--skip-git-repo-check",
            prompt,
        ]
    if cli == "gemini":
        return [
            program,
            "-p",
            prompt,
            "--output-format",
            "stream-json",
            "--approval-mode",
            "auto_edit",
        ]
    return [
        program,
        "--message",
        prompt,
        "--yes-always",
        "--no-auto-commits",
        "--no-stream",
        "--no-pretty",
        "--no-check-update",
    ]


def fake_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The fakes' ``#!/usr/bin/env python3`` finds this interpreter first (no slow shims)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "HOME": str(tmp_path / "home")}
    env.update(FAKE_AGENT_FLOOD_MB="2", FAKE_AGENT_SLOW_DELAY="0.1")
    env.pop("FAKE_AGENT_SCENARIO", None)
    env.update(extra)
    return env


@dataclass(frozen=True)
class FakeRun:
    returncode: int
    stdout: bytes
    stderr: str
    seconds: float


def run_fake(cli: str, prompt: str, cwd: Path, env: dict[str, str]) -> FakeRun:
    started = time.monotonic()
    done = subprocess.run(
        fake_argv(cli, prompt),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    return FakeRun(
        done.returncode,
        done.stdout,
        done.stderr.decode(errors="replace"),
        time.monotonic() - started,
    )


def decode_lines(stdout: bytes) -> tuple[list[Any], list[bytes]]:
    """(parsed JSON lines, lines that are not UTF-8 JSON)."""
    parsed, broken = [], []
    for raw in stdout.splitlines():
        try:
            parsed.append(json.loads(raw.decode("utf-8")))
        except (UnicodeDecodeError, ValueError):
            broken.append(raw)
    return parsed, broken


CLAUDE_TYPES = {"system", "assistant", "user", "result"}
CODEX_TYPES = {
    "thread.started",
    "turn.started",
    "turn.completed",
    "turn.failed",
    "item.started",
    "item.updated",
    "item.completed",
    "error",
}
CODEX_ITEMS = {
    "agent_message",
    "reasoning",
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
    "todo_list",
    "error",
}
GEMINI_TYPES = {"init", "message", "tool_use", "tool_result", "error", "result"}

# scenario -> (exit code, has a final result); hang and orphan are tested apart.
EXPECTED = {
    "claude": {
        "ok": (0, True),
        "api_error": (1, True),
        "permission_denied": (0, True),
        "max_turns": (1, True),
        "crash": (2, False),
        "no_result": (0, False),
    },
    "codex": {
        "ok": (0, True),
        "api_error": (1, False),
        "permission_denied": (0, True),
        "max_turns": (1, False),
        "crash": (2, False),
        "no_result": (0, False),
    },
    "gemini": {
        "ok": (0, True),
        "api_error": (1, False),
        "permission_denied": (0, True),
        "max_turns": (53, False),
        "crash": (2, False),
        "no_result": (0, False),
    },
    "aider": {
        "ok": (0, True),
        "api_error": (0, False),
        "permission_denied": (0, True),
        "max_turns": (0, True),
        "crash": (2, False),
        "no_result": (0, False),
    },
}


def check_format(cli: str, scenario: str, stdout: bytes) -> bool:
    """Assert the output is in ``cli``'s documented format; return whether it has a result."""
    if cli == "aider":
        text = stdout.decode("utf-8", errors="replace")
        assert "Aider v" in text.splitlines()[0]
        if scenario == "api_error":
            assert "litellm.BadRequestError" in text
        if scenario == "permission_denied":
            assert "Run shell command? (Y)es/(N)o [Yes]: n" in text
        if scenario == "max_turns":
            assert "Only 3 reflections allowed, stopping." in text
        if scenario == "non_utf8":
            with pytest.raises(UnicodeDecodeError):
                stdout.decode("utf-8")
        return any(line.startswith("Tokens: ") for line in text.splitlines())
    parsed, broken = decode_lines(stdout)
    if scenario == "malformed_json":
        assert broken
        parsed = [
            p
            for p in parsed
            if isinstance(p, dict) and "type" in p and not str(p["type"]).startswith("mystery")
        ]
    elif scenario == "non_utf8":
        assert len(broken) == 1
        broken[0].decode("latin-1")
    else:
        assert broken == []
    assert parsed
    for obj in parsed:
        assert isinstance(obj, dict)
    if cli == "claude":
        assert {o["type"] for o in parsed} <= CLAUDE_TYPES
        assert parsed[0]["type"] == "system"
        assert parsed[0]["subtype"] == "init"
        for obj in parsed:
            if obj["type"] == "assistant":
                assert obj["message"]["content"][0]["type"] in ("text", "tool_use")
            if obj["type"] == "user":
                assert obj["message"]["content"][0]["type"] == "tool_result"
        results = [o for o in parsed if o["type"] == "result"]
        if results:
            assert results == [parsed[-1]]
            assert set(results[0]) >= DOCUMENTED_KEYS["result"]
            assert (results[0]["subtype"] == "success") != (scenario == "max_turns")
            assert results[0]["is_error"] == (scenario in ("api_error", "max_turns"))
            if scenario == "permission_denied":
                assert results[0]["permission_denials"][0]["tool_name"] == "Bash"
        return bool(results)
    if cli == "codex":
        assert {o["type"] for o in parsed} <= CODEX_TYPES
        assert parsed[0] == {"type": "thread.started", "thread_id": parsed[0]["thread_id"]}
        for obj in parsed:
            if obj["type"].startswith("item."):
                assert obj["item"]["type"] in CODEX_ITEMS
                assert obj["item"]["id"].startswith("item_")
        if scenario in ("api_error", "max_turns"):
            assert parsed[-1]["type"] == "turn.failed"
            assert parsed[-1]["error"]["message"]
        if scenario == "permission_denied":
            assert any(
                o["type"] == "item.completed" and o["item"].get("status") == "declined"
                for o in parsed
            )
        done = [o for o in parsed if o["type"] == "turn.completed"]
        if done:
            assert done == [parsed[-1]]
            assert set(done[0]["usage"]) == {"input_tokens", "cached_input_tokens", "output_tokens"}
        return bool(done)
    assert {o["type"] for o in parsed} <= GEMINI_TYPES
    assert all("timestamp" in o for o in parsed)
    assert parsed[0]["type"] == "init"
    assert {"session_id", "model"} <= set(parsed[0])
    if scenario == "permission_denied":
        assert any(o["type"] == "tool_result" and o["status"] == "error" for o in parsed)
    results = [o for o in parsed if o["type"] == "result"]
    if results:
        assert results == [parsed[-1]]
        assert results[0]["status"] == "success"
        assert set(results[0]["stats"]) >= {
            "total_tokens",
            "input_tokens",
            "output_tokens",
            "duration_ms",
            "tool_calls",
        }
    return bool(results)


MATRIX_SCENARIOS = [s for s in SCENARIOS if s not in ("hang", "orphan")]


@pytest.fixture(scope="module")
def scenario_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], FakeRun]:
    """Every fake CLI run once per scenario, several at a time (they mostly wait)."""
    root = tmp_path_factory.mktemp("scenarios")

    def run(cli: str, scenario: str) -> FakeRun:
        base = root / f"{cli}-{scenario}"
        cwd = make_repo(base / "repo")
        return run_fake(cli, f"Do the task.\nSCENARIO: {scenario}", cwd, fake_env(base))

    with ThreadPoolExecutor(8) as pool:
        futures = {
            (cli, scenario): pool.submit(run, cli, scenario)
            for cli in FAKE_CLIS
            for scenario in MATRIX_SCENARIOS
        }
        return {key: future.result() for key, future in futures.items()}


@pytest.mark.parametrize("cli", FAKE_CLIS)
@pytest.mark.parametrize("scenario", MATRIX_SCENARIOS)
def test_fake_scenarios_print_the_documented_format(
    cli: str, scenario: str, scenario_runs: dict[tuple[str, str], FakeRun]
) -> None:
    result = scenario_runs[cli, scenario]
    code, has_result = EXPECTED[cli].get(scenario, (0, True))
    assert result.returncode == code, result.stderr
    assert check_format(cli, scenario, result.stdout) == has_result
    if scenario == "crash":
        assert "fake crash" in result.stderr
    if scenario == "flood":
        assert len(result.stdout) >= 2 * 1024 * 1024
    if scenario == "slow":
        assert result.seconds >= 0.5


@pytest.mark.parametrize("cli", FAKE_CLIS)
def test_fake_writes_the_file_and_logs_argv(cli: str, tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    log = tmp_path / "argv.jsonl"
    prompt = "Write it.\nWRITE_FILE: src/out.txt\nCONTENT<<END\nfirst\n  second\nEND\n"
    env = fake_env(tmp_path, FAKE_AGENT_LOG=str(log), FAKE_AGENT_SCENARIO="api_error")
    result = run_fake(cli, prompt + "SCENARIO: ok", cwd, env)
    assert result.returncode == 0, result.stderr
    assert (cwd / "src" / "out.txt").read_text() == "first\n  second\n"
    record = json.loads(log.read_text())
    assert record["prog"] == cli
    assert record["argv"] == fake_argv(cli, prompt + "SCENARIO: ok")[1:]
    assert record["cwd"] == str(cwd)


@pytest.mark.parametrize("cli", FAKE_CLIS)
def test_fake_scenario_from_the_environment(cli: str, tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    env = fake_env(tmp_path, FAKE_AGENT_SCENARIO="crash")
    assert run_fake(cli, "no marker", cwd, env).returncode == 2


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (
            ["claude", "-p", "x", "--output-format", "stream-json"],
            1,
            "Error: When using --print, --output-format=stream-json requires --verbose",
        ),
        (["claude", "-p", "x", "--bogus"], 1, "error: unknown option '--bogus'"),
        (["claude", "-p", "x", "--permission-mode", "nope"], 1, "argument 'nope' is invalid"),
        (["claude", "-p", "x", "--session-id", "nope"], 1, "Invalid session ID"),
        (["claude", "-p", "--output-format", "text"], 1, "Input must be provided"),
        (["codex", "exec", "--json", "--bogus", "x"], 2, "unexpected argument '--bogus'"),
        (["codex", "exec", "--json", "-s", "nope", "x"], 2, "invalid value 'nope'"),
        (["gemini", "-p", "x", "--bogus"], 1, "Unknown argument: bogus"),
        (["gemini", "-p", "x", "-y", "--approval-mode", "yolo"], 1, "Cannot use both --yolo"),
        (["aider", "--message", "x", "--bogus"], 2, "unrecognized arguments: --bogus"),
    ],
)
def test_fakes_fail_on_bad_usage_like_the_real_ones(
    argv: list[str], code: int, message: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [str(FAKES_BIN / argv[0]), *argv[1:]],
        cwd=tmp_path,
        env=fake_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == code
    assert message in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("cli", "version"),
    [
        ("claude", "2.1.197 (Claude Code)"),
        ("codex", "codex-cli 0.50.0"),
        ("gemini", "0.25.0"),
        ("aider", "aider 0.86.1"),
    ],
)
def test_fake_versions(cli: str, version: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [str(FAKES_BIN / cli), "--version"],
        env=fake_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert (done.returncode, done.stdout.strip()) == (0, version)


def test_fakes_refuse_writes_without_permission_like_the_real_ones(tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    env = fake_env(tmp_path)
    prompt = "WRITE_FILE: nope.txt"
    claude = subprocess.run(
        [str(FAKES_BIN / "claude"), "-p", prompt, "--output-format", "stream-json", "--verbose"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    result = parse_json_lines(claude.stdout)[-1]
    assert claude.returncode == 0
    assert [d["tool_name"] for d in result["permission_denials"]] == ["Write"]
    codex = subprocess.run(
        [str(FAKES_BIN / "codex"), "exec", "--json", prompt],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    changes = [
        o["item"]
        for o in parse_json_lines(codex.stdout)
        if o["type"] == "item.completed" and o["item"]["type"] == "file_change"
    ]
    assert changes[0]["status"] == "failed"
    gemini = subprocess.run(
        [str(FAKES_BIN / "gemini"), "-p", prompt, "-o", "stream-json"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert any(
        o["type"] == "tool_result" and o["status"] == "error"
        for o in parse_json_lines(gemini.stdout)
    )
    aider = subprocess.run(
        [str(FAKES_BIN / "aider"), "--message", prompt, "--no-auto-commits"],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert b"Skipping edits to nope.txt" in aider.stdout
    assert not (cwd / "nope.txt").exists()
    allowed = subprocess.run(
        [
            str(FAKES_BIN / "claude"),
            "-p",
            prompt,
            "--output-format",
            "json",
            "--allowedTools",
            "Write",
        ],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert json.loads(allowed.stdout)["permission_denials"] == []
    assert (cwd / "nope.txt").exists()


def test_fake_claude_sessions_resume_like_the_real_one(tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    session = "11111111-2222-4333-8444-555555555555"
    first = run_fake_claude("REPLY: one", cwd, "--session-id", session)
    assert first.lines[0]["session_id"] == session
    second = run_fake_claude("REPLY: two", cwd, "--resume", session)
    assert second.returncode == 0
    assert second.lines[-1]["session_id"] == session
    assert second.lines[-1]["result"] == "two"
    missing = run_fake_claude("x", cwd, "--resume", "22222222-2222-4333-8444-555555555555")
    assert missing.returncode == 1
    assert missing.lines[-1]["subtype"] == "error_during_execution"


def test_fake_claude_max_turns_flag_cuts_the_run(tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    run = run_fake_claude("WRITE_FILE: a.txt", cwd, "--max-turns", "1")
    assert run.returncode == 1
    assert run.lines[-1]["subtype"] == "error_max_turns"
    assert run.lines[-1]["errors"] == ["Reached maximum number of turns (1)"]


def test_full_size_flood_has_huge_lines(tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    env = fake_env(tmp_path, FAKE_AGENT_FLOOD_MB="50")
    result = run_fake("claude", "SCENARIO: flood", cwd, env)
    assert result.returncode == 0
    assert len(result.stdout) >= 50 * 1024 * 1024
    assert max(len(line) for line in result.stdout.splitlines()) > 1024 * 1024
    assert json.loads(result.stdout.splitlines()[-1])["type"] == "result"


def readline_within(stream: Any, seconds: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, "no output in time"
    return stream.readline()


@pytest.mark.parametrize("cli", FAKE_CLIS)
def test_fake_hang_prints_one_line_then_waits(cli: str, tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    process = subprocess.Popen(
        fake_argv(cli, "SCENARIO: hang"),
        cwd=cwd,
        env=fake_env(tmp_path),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        first = readline_within(process.stdout, TIMEOUT)
        assert first.strip()
        if cli != "aider":
            assert json.loads(first)["type"] in ("system", "thread.started", "init")
        time.sleep(0.1)
        assert process.poll() is None
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=TIMEOUT)
        process.stdout.close()
    assert process.returncode == -signal.SIGTERM


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie awaiting its reaper counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


@pytest.fixture
def orphan_pids() -> Iterator[list[int]]:
    pids: list[int] = []
    yield pids
    for pid in pids:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("cli", FAKE_CLIS)
def test_fake_orphan_outlives_the_agent_until_its_group_is_killed(
    cli: str, tmp_path: Path, orphan_pids: list[int]
) -> None:
    cwd = make_repo(tmp_path / "repo")
    pidfile = tmp_path / "orphan.pid"
    with open(tmp_path / "stdout", "wb") as stdout:
        process = subprocess.Popen(
            fake_argv(cli, "SCENARIO: orphan"),
            cwd=cwd,
            env=fake_env(tmp_path, FAKE_AGENT_PIDFILE=str(pidfile)),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert process.wait(timeout=TIMEOUT) == 0
    child = int(pidfile.read_text())
    orphan_pids.append(child)
    assert child != process.pid
    assert pid_alive(child)
    assert os.getpgid(child) == process.pid
    os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not pid_alive(child)


def test_fake_claude_appends_piped_stdin_like_the_real_one(tmp_path: Path) -> None:
    cwd = make_repo(tmp_path / "repo")
    process = subprocess.Popen(
        [str(FAKES_BIN / "claude"), "-p", "REPLY: hi", "--output-format", "text"],
        cwd=cwd,
        env=fake_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, _ = process.communicate(b"piped words\n", timeout=TIMEOUT)
    assert process.returncode == 0
    assert stdout == b"hi\n"


def test_shared_helpers_are_identical_in_every_fake() -> None:
    blocks = set()
    for cli in FAKE_CLIS:
        text = (FAKES_BIN / cli).read_text()
        start = text.index("# --- shared fake-agent helpers")
        end = text.index("# --- end shared fake-agent helpers ---")
        blocks.add(text[start:end])
        assert text.startswith("#!/usr/bin/env python3\n")
        assert os.access(FAKES_BIN / cli, os.X_OK)
    assert len(blocks) == 1


def test_claude_executable_prefers_the_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCH_CLAUDE_BIN", str(FAKES_BIN / "claude"))
    assert claude_executable() == str(FAKES_BIN / "claude")
    monkeypatch.setenv("ORCH_CLAUDE_BIN", str(tmp_path / "missing"))
    assert claude_executable() is None
    monkeypatch.delenv("ORCH_CLAUDE_BIN")
    monkeypatch.setenv("PATH", str(FAKES_BIN))
    found = claude_executable()
    assert found is None or Path(found).parent != FAKES_BIN
    env = claude_env("http://127.0.0.1:9", tmp_path)
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert env["HOME"] == str(tmp_path)
    assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
