"""The engine's side of taking a task over (the rules are core/takeover.py): when the agent
stopped for a person has exited, record the task taken over with the command that resumes
its session; on `done`, commit and merge its worktree like a finished attempt."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..core import takeover
from ..core.models import Task
from ..core.protocols import MergeResult, TaskIsolation
from .context import EngineCore
from .inputs import AgentExited


def record_taken_over(engine: EngineCore, task: Task, item: AgentExited) -> None:
    """The agent stopped for a person has exited: its session id came with its result."""
    state = engine.state.tasks[task.id]
    try:
        profile_name, profile = engine.config.agents.profile(task.agent or None)
        backend, executable, acp = profile.backend, profile.executable, tuple(profile.command)
        profile_env = profile.env
    except (KeyError, ValueError):
        profile_name, backend, executable, acp, profile_env = task.agent, "", "", (), {}
    session = item.result.session_id or state.session_id
    resume = takeover.resume_command(backend, executable, acp, session)
    env, left_out = takeover.carried_env(profile_env, engine.options.extra_env)
    engine.emit(
        takeover.taken_over(
            task.id,
            item.attempt,
            state.workdir,
            profile_name,
            backend,
            resume,
            env if resume.argv else {},
            left_out if resume.argv else (),
            session_id=session,
        )
    )


def hand_back(
    engine: EngineCore, isolation: TaskIsolation, task: Task, downstream: Sequence[str]
) -> None:
    """`done T`: the person's work is committed and merged like an agent's."""
    merge: MergeResult | None = None
    error = ""
    try:
        merge = isolation.finish(task)
    except Exception as exc:  # git refused: the task fails with git's words
        error = str(exc)
    started = engine.state.tasks[task.id].started_at  # the attempt's start: agent + person
    duration = max(time.time() - started, 0.0) if started else 0.0
    events = takeover.after_hand_back(engine.state, task.id, merge, error, downstream, duration)
    engine.emit_all(events)
