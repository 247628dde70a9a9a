"""What each inbox command does to a running engine: pause, resume, cancel, gate decisions,
and retry or skip of one task. Each answer becomes a CommandApplied event (pipeline.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core import events as ev
from ..core.models import StageName
from ..infra.session import Command
from .implement import reset_for_retry, skip_task

if TYPE_CHECKING:
    from .pipeline import Engine


def handle_command(engine: Engine, command: Command) -> tuple[bool, str, str | None]:
    """Apply one command: (accepted, what happened, gate decision or None)."""
    action = command.action
    if action == "pause":
        if engine.state.paused:
            return False, "already paused", None
        engine.emit(ev.RunPaused(by=command.by))
        return True, "paused: no new stage or task starts", None
    if action == "resume":
        if not engine.state.paused:
            return False, "not paused", None
        engine.emit(ev.RunResumed(by=command.by))
        return True, "resumed", None
    if action == "cancel":
        engine.cancelled = True
        return True, "cancelling the run", None
    if command.task and action in ("retry", "skip"):
        return task_command(engine, command)
    gate = engine.state.gate
    if gate is None:
        return False, f"nothing waits for approval; {action} ignored", None
    if action == "approve" and gate.failed:
        return False, f"{gate.stage} failed: retry, skip or cancel", None
    decision = {"approve": "approve", "reject": "reject", "retry": "retry", "skip": "skip"}
    engine.emit(
        ev.GateDecided(
            stage=gate.stage,
            decision=decision[action],  # type: ignore[arg-type]
            feedback=command.feedback,
            by=command.by,
        )
    )
    return True, f"{gate.stage}: {action}", decision[action]


def task_command(engine: Engine, command: Command) -> tuple[bool, str, str | None]:
    """retry TASK / skip TASK: by the running implement stage, or at its failed gate (which
    then runs implement again)."""
    task = engine.state.tasks.get(command.task)
    if task is None:
        return False, f"no task {command.task!r}", None
    implementer = engine.implementer
    if implementer is not None:
        return (*implementer.task_command(command), None)
    change = reset_for_retry if command.action == "retry" else skip_task
    ok, message = change(engine, command.task)
    gate = engine.state.gate
    if ok and gate is not None and gate.stage == StageName.IMPLEMENT:
        engine.emit(
            ev.GateDecided(stage=gate.stage, decision="retry", feedback=message, by=command.by)
        )
        return True, message, "retry"
    return ok, message, None
