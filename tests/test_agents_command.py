"""`orchestrator-tui agents`: profiles, whether each program is found, and its version."""

from __future__ import annotations

import json
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

    def run(workspace: Path, *extra: str) -> Done:
        code = main(["agents", "-C", str(workspace), *extra])
        captured = capsys.readouterr()
        return Done(code, captured.out, captured.err)

    return run


def table_rows(text: str) -> dict[str, str]:
    return {line.split("│")[1].strip(): line for line in text.splitlines() if "│" in line}


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
    rows = table_rows(done.stdout.split("Agent programs on PATH")[0])
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


def script(folder: Path, name: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def marker_script(folder: Path, name: str, marker: Path) -> Path:
    """A program that leaves `marker` behind when it is run at all (with any arguments)."""
    return script(folder, name, f'echo "$0 $*" >> "{marker}"\necho 9.9.9')


def test_a_configured_command_program_is_never_executed(tmp_path: Path, agents) -> None:
    marker = tmp_path / "ran.txt"
    tool = marker_script(tmp_path / "bin", "my-agent", marker)
    workspace = write_config(
        tmp_path / "ws",
        f"""
[agents]
default = "mine"
[agents.mine]
backend = "command"
command = ["{tool}", "{{prompt_file}}"]
[agents.wrapped]
backend = "command"
executable = "{tool}"
""",
    )
    done = agents(workspace)
    assert done.returncode == 0, done.stderr
    assert not marker.exists(), marker.read_text()
    assert "9.9.9" not in done.stdout
    done = agents(workspace, "--json")
    assert not marker.exists(), marker.read_text()
    profiles = {p["name"]: p for p in json.loads(done.stdout)["profiles"]}
    assert profiles["mine"]["path"] == str(tool) and profiles["mine"]["version"].startswith(
        "not run"
    )
    assert profiles["wrapped"]["path"] == str(tool)


def test_known_programs_found_or_missing_on_a_path_of_our_making(
    tmp_path: Path, agents, monkeypatch
) -> None:
    marker = tmp_path / "ran.txt"
    bin_dir = tmp_path / "bin"
    claude = script(bin_dir, "claude", 'echo "2.1.197 (Claude Code)"')
    gemini = script(bin_dir, "gemini", 'echo "0.25.0"')
    adapter = marker_script(bin_dir, "claude-agent-acp", marker)  # an ACP agent: never run
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    workspace = write_config(tmp_path / "ws", '[agents]\ndefault = "simulated"\n')
    done = agents(workspace, "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    programs = {p["name"]: p for p in listing["programs"]}
    assert set(programs) == {
        "claude",
        "codex",
        "gemini",
        "aider",
        "claude-agent-acp",
        "codex-acp",
        "gemini --acp",
    }
    assert programs["claude"]["path"] == str(claude) and programs["claude"]["found"]
    assert programs["claude"]["version"] == "2.1.197 (Claude Code)"
    assert programs["gemini"]["version"] == "0.25.0"
    assert programs["gemini --acp"]["path"] == str(gemini)
    assert programs["gemini --acp"]["version"] == "not run"
    assert programs["claude-agent-acp"]["path"] == str(adapter)
    for missing in ("codex", "aider", "codex-acp"):
        assert programs[missing] == {**programs[missing], "path": "", "found": False}
    assert not marker.exists()
    assert listing["default"] == "simulated" and listing["runnable"] is True
    profiles = {p["name"]: p for p in listing["profiles"]}
    assert profiles["claude"]["path"] == str(claude)

    done = agents(workspace)  # the same as a table
    rows = table_rows(done.stdout.split("Agent programs on PATH")[1])
    assert "missing" in rows["codex-acp"] and str(adapter) in rows["claude-agent-acp"]
    assert not marker.exists()


def test_json_of_a_default_that_cannot_run(tmp_path: Path, agents, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    workspace = write_config(
        tmp_path, '[agents]\ndefault = "claude"\n[agents.claude]\nbackend = "claude"\n'
    )
    done = agents(workspace, "--json")
    assert done.returncode == 1
    listing = json.loads(done.stdout)
    assert listing["runnable"] is False and listing["default"] == "claude"
    assert not any(p["found"] for p in listing["programs"])
