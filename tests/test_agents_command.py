"""`orchestrator-tui agents`: profiles, whether each program is found, and its version."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from agent_support import fake

from orchestrator_tui.cli import main


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def agents(capsys, monkeypatch):
    """Run `orchestrator-tui agents -C DIR` in this process, as the CLI would."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")

    def run(workspace: Path) -> Done:
        code = main(["agents", "-C", str(workspace)])
        captured = capsys.readouterr()
        return Done(code, captured.out, captured.err)

    return run


def write_config(workspace: Path, text: str) -> Path:
    (workspace / ".orchestrator").mkdir(parents=True, exist_ok=True)
    (workspace / ".orchestrator" / "config.toml").write_text(text)
    return workspace


def test_lists_profiles_with_paths_and_versions(tmp_path: Path, agents) -> None:
    workspace = write_config(
        tmp_path,
        f"""
[agents]
default = "claude"
[agents.claude]
backend = "claude"
executable = "{fake("claude")}"
[agents.codex]
backend = "codex"
executable = "{fake("codex")}"
[agents.gem]
backend = "gemini"
env = {{ PATH = "{Path(fake("gemini")).parent}:{os.environ["PATH"]}" }}
[agents.missing]
backend = "aider"
executable = "/nowhere/aider"
[agents.scripts]
backend = "shell"
""",
    )
    done = agents(workspace)
    assert done.returncode == 0, done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if "│" in line}
    assert "2.1.197 (Claude Code)" in rows["claude (default)"]
    assert "codex-cli 0.50.0" in rows["codex"]
    assert fake("gemini") in rows["gem"] and "0.25.0" in rows["gem"]  # the profile's PATH
    assert "not found" in rows["missing"]
    assert "built in" in rows["simulated"]
    assert "per task" in rows["scripts"]


def test_a_default_profile_that_cannot_run_exits_1(tmp_path: Path, agents) -> None:
    workspace = write_config(
        tmp_path, '[agents]\ndefault = "claude"\n[agents.claude]\nexecutable = "/nowhere/claude"\n'
    )
    done = agents(workspace)
    assert done.returncode == 1
    assert "not found" in done.stdout
    assert "agents.claude.executable" in done.stderr


def test_a_bad_config_or_directory_exits_2(tmp_path: Path, agents) -> None:
    workspace = write_config(tmp_path, '[agents]\ndefault = "nope"\n')
    done = agents(workspace)
    assert done.returncode == 2 and "unknown agent profile 'nope'" in done.stderr
    done = agents(tmp_path / "missing")
    assert done.returncode == 2 and "no such directory" in done.stderr
