"""Wiring: an Engine with this build's backends, stage runners and task isolation.

The CLI, the app and the tests all build engines here, so they run the same thing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from .agents import make_backend, supervisor
from .agents.programs import locate
from .core.config import AgentProfile, Config
from .core.events import EventSink
from .core.protocols import AgentBackend, BackendFactory, TaskIsolation
from .engine.pipeline import Engine, EngineOptions
from .stages import builtin_runners


def make_isolation(workspace: Path, run_id: str, config: Config) -> TaskIsolation:
    """A git worktree per task where the workspace is a repository, else shared.

    `run.isolation = "worktree"` insists on worktrees: in a workspace that cannot have them
    each task fails with the reason. "auto" falls back to the shared workspace there (a
    directory that is not a repository, or a repository without a commit)."""
    from .infra.manifest import ManifestWorkspace
    from .infra.workspace import GitWorktrees, worktree_problem

    mode = config.run.isolation
    if mode == "none" or (mode == "auto" and worktree_problem(workspace)):
        return ManifestWorkspace(workspace, run_id)  # shared, its changes found by manifest
    return GitWorktrees(workspace, run_id, tuple(config.run.copy_into_worktrees))


def make_backends(workspace: Path, config: Config) -> BackendFactory:
    """This build's backends; with run.executor = "ray", implement tasks go to the cluster
    (agents/ray_backend.py; only then is anything of Ray imported)."""

    def local(name: str, profile: AgentProfile) -> AgentBackend:
        return make_backend(workspace, name, profile)

    if config.run.executor != "ray":
        return local
    from .agents.ray_backend import RayBackends

    return RayBackends(workspace, config, local)


def build_engine(options: EngineOptions, sinks: Sequence[EventSink] = ()) -> Engine:
    return Engine(
        options,
        runners=builtin_runners(options.config),
        backends=make_backends(options.workspace, options.config),
        isolation=make_isolation,
        sinks=sinks,
        programs=functools.partial(locate, options.workspace),
        driver=supervisor.shared(),  # the engine's thread watches the agents (engine/waiting.py)
    )
