"""Agent backends: one module per CLI, plus the subprocess runner they share.

`make_backend(name, profile)` picks the backend a profile asks for.
"""

from __future__ import annotations

from pathlib import Path

from ..core.config import AgentProfile
from ..core.protocols import AgentBackend


def make_backend(workspace: Path, name: str, profile: AgentProfile) -> AgentBackend:
    """The backend for a profile; raises ValueError for one this build cannot run."""
    if profile.backend == "simulated":
        from .simulated import SimulatedBackend

        return SimulatedBackend(profile, workspace)
    raise ValueError(f"profile {name!r}: backend {profile.backend!r} is not available yet")
