"""Shared helpers for the agent tests: a recording AgentEvents, jobs, pid checks, git repos."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from orchestrator_tui.core.config import AgentProfile
from orchestrator_tui.core.models import Task
from orchestrator_tui.core.protocols import AgentJob

FAKES_BIN = Path(__file__).resolve().parent / "fakes" / "bin"
USER_ENV = {
    "GIT_AUTHOR_NAME": "User",
    "GIT_AUTHOR_EMAIL": "user@example.invalid",
    "GIT_COMMITTER_NAME": "User",
    "GIT_COMMITTER_EMAIL": "user@example.invalid",
}


class RecordingEvents:
    """AgentEvents that keeps what a backend reported (lines only up to `keep_lines`)."""

    def __init__(self, keep_lines: int = 100_000) -> None:
        self.lock = threading.Lock()
        self.lines: list[str] = []
        self.line_count = 0
        self.batches = 0
        self.usages: list[tuple[int, int, float]] = []
        self.notices: list[tuple[str, str]] = []
        self.timeline: list[tuple[str, str]] = []  # ("line" | "notice", text), in order
        self.keep_lines = keep_lines

    def output(self, lines) -> None:
        with self.lock:
            self.batches += 1
            self.line_count += len(lines)
            room = self.keep_lines - len(self.lines)
            if room > 0:
                self.lines.extend(lines[:room])
                self.timeline.extend(("line", line) for line in lines[:room])

    def usage(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        with self.lock:
            self.usages.append((input_tokens, output_tokens, cost_usd))

    def notice(self, level: str, text: str) -> None:
        with self.lock:
            self.notices.append((level, text))
            self.timeline.append(("notice", text))

    @property
    def totals(self) -> tuple[int, int, float]:
        return (
            sum(u[0] for u in self.usages),
            sum(u[1] for u in self.usages),
            round(sum(u[2] for u in self.usages), 8),
        )


def make_job(
    tmp_path: Path,
    prompt: str = "do it",
    profile: AgentProfile | None = None,
    task: Task | None = None,
    workdir: Path | None = None,
    **fields: object,
) -> AgentJob:
    workdir = workdir or tmp_path / "work"
    workdir.mkdir(parents=True, exist_ok=True)
    prompt_file = tmp_path / "prompts" / "T1.md"
    prompt_file.parent.mkdir(parents=True, exist_ok=True)
    prompt_file.write_text(prompt, encoding="utf-8")
    profile = profile or AgentProfile()
    values: dict = {
        "run_id": "run1",
        "task": task or Task(id="T1", title="Task one"),
        "profile_name": profile.backend,
        "profile": profile,
        "prompt": prompt,
        "prompt_file": prompt_file,
        "workdir": workdir,
        "log_path": tmp_path / "logs" / "T1.log",
        "timeout": 20.0,
        "stall_after": 60.0,
    }
    values.update(fields)
    return AgentJob(**values)


def fake(name: str) -> str:
    return str(FAKES_BIN / name)


def pid_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].split()[0] != "Z"


def wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)


def read_pid(path: Path, timeout: float = 5.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.01)
    raise AssertionError(f"no pid in {path}")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **USER_ENV},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README.md": "hello\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path
