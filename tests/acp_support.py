"""The real ACP adapters (from npm, in <repo>/.tools) and the environment that keeps them
offline: claude-agent-acp runs the installed Claude Code CLI against the Messages API
stand-in; `gemini --acp` talks to the Gemini API stand-in."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from agent_support import RecordingEvents

try:
    from fakes.claude_env import claude_env, claude_executable
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.claude_env import claude_env, claude_executable

REPO_ROOT = Path(__file__).resolve().parents[1]
# scripts/test.sh installs the adapters into .tools/acp (the Claude CLI is in .tools)
BINS = (
    REPO_ROOT / ".tools" / "acp" / "node_modules" / ".bin",
    REPO_ROOT / ".tools" / "node_modules" / ".bin",
)


def tool(name: str) -> str:
    """An npm-installed program, or skip (fail in CI, where a skip would hide it)."""
    for directory in BINS:
        path = directory / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    message = f"{name} is not installed in .tools (bash scripts/test.sh installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run this test")
    pytest.skip(message)
    raise AssertionError  # unreachable


def claude_acp_env(api_url: str, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    claude = claude_executable()
    if claude is None:
        tool("claude")
    env = claude_env(api_url, home)
    env["CLAUDE_CODE_EXECUTABLE"] = str(claude)
    return env


def gemini_env(api_url: str, home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GOOGLE_GEMINI_BASE_URL": api_url,
        "GEMINI_API_KEY": "dummy-gemini-key",
        "GEMINI_CLI_NO_RELAUNCH": "true",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "NO_COLOR": "1",
    }
    for name in ("LANG", "LC_ALL", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


class Answer:
    def __init__(self, decision: str, message: str = "", by: str = "app") -> None:
        self.decision, self.message, self.by = decision, message, by


class AskingEvents(RecordingEvents):
    """A reporter with the permission queue's `ask`: each request is recorded and answered
    by `decide(request)` from another thread (as the engine does), or left waiting (None)."""

    def __init__(self, decide: Callable[[Any], Answer | None]) -> None:
        super().__init__()
        self.decide = decide
        self.requests: list[Any] = []
        self.replies: dict[str, Callable[[Any], None]] = {}
        self.withdrawn: list[tuple[str, str]] = []
        self.channel: Any = None
        self.asked = threading.Event()

    def ask(self, request: Any, reply: Callable[[Any], None]) -> str:
        with self.lock:
            self.requests.append(request)
            request_id = f"P{len(self.requests)}"
            self.replies[request_id] = reply
        answer = self.decide(request)
        if answer is not None:
            threading.Timer(0.05, reply, args=(answer,)).start()
        self.asked.set()
        return request_id

    def withdraw(self, request_id: str, reason: str) -> None:
        with self.lock:
            self.withdrawn.append((request_id, reason))

    def attach(self, channel: Any) -> None:
        self.channel = channel

    def detach(self, channel: Any) -> None:
        if self.channel is channel:
            self.channel = None
