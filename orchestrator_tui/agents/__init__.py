"""Agent backends: one module per CLI, plus the subprocess runner they share.

`make_backend(workspace, name, profile)` picks the backend a profile asks for.
"""

from __future__ import annotations

from pathlib import Path

from ..core.config import AgentProfile
from ..core.protocols import AgentBackend


def make_backend(workspace: Path, name: str, profile: AgentProfile) -> AgentBackend:
    """The backend for a profile; raises ValueError for one this build cannot run."""
    backend = profile.backend
    if backend == "simulated":
        from .simulated import SimulatedBackend

        return SimulatedBackend(profile, workspace)
    if backend == "claude":
        from .claude import ClaudeBackend

        return ClaudeBackend(name, profile)
    if backend == "codex":
        from .codex import CodexBackend

        return CodexBackend(name, profile)
    if backend == "gemini":
        from .gemini import GeminiBackend

        return GeminiBackend(name, profile)
    if backend == "aider":
        from .aider import AiderBackend

        return AiderBackend(name, profile)
    if backend == "command":
        from .command import CommandBackend

        return CommandBackend(name, profile)
    if backend == "acp":
        from .acp import AcpBackend

        return AcpBackend(name, profile)
    if backend == "shell":
        from .shell import ShellBackend

        return ShellBackend(name, profile)
    raise ValueError(f"profile {name!r}: unknown backend {backend!r}")
