"""Which program an agent profile runs, and where it is on PATH — looked up, never started.

`orchestrator-tui agents` (commands/agents.py) lists these, and the preflight at the parallel
gate (engine/preflight.py) asks `locate` for every profile the plan's tasks use, so that a
missing agent CLI is found before implement starts rather than by each task failing.
A `command` profile's program may be anything: it is only looked up, like every other.
"""

from __future__ import annotations

from pathlib import Path

from ..core.config import AgentProfile
from ..core.protocols import AgentProgram
from .spec import find_executable, merged_env

DEFAULT_PROGRAMS = {"claude": "claude", "codex": "codex", "gemini": "gemini", "aider": "aider"}


def program_of(profile: AgentProfile) -> str:
    """The program a profile runs ("" when it runs none of its own)."""
    if profile.backend == "command":
        return profile.executable or (profile.command[0] if profile.command else "")
    if profile.backend == "shell":
        return profile.executable or ("/bin/sh" if profile.shell else "")
    if profile.backend == "acp":
        return profile.command[0] if profile.command else profile.executable
    return profile.executable or DEFAULT_PROGRAMS.get(profile.backend, "")


def locate(workspace: Path, name: str, profile: AgentProfile) -> AgentProgram:
    """Where `profile`'s program is, on PATH with the profile's own env on top (as its agent
    will be started); relative paths are taken from the workspace."""
    if profile.backend == "simulated":
        return AgentProgram("", note="built in")
    program = program_of(profile)
    if not program:
        return AgentProgram("", note="the task's run: line")
    path = find_executable(program, merged_env(profile.env), workspace) or ""
    return AgentProgram(program, path)
