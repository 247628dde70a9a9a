"""Commands reaching the engine: from the app's queue or the inbox, answered by the rules in
core/decisions.py, each answer recorded as a CommandApplied event (the same for both ways in,
so replay and the monitor see no difference)."""

from __future__ import annotations

import secrets
import time

from ..core import decisions, takeover
from ..core import events as ev
from ..core.commands import AGENT_ACTIONS, PERMISSION_ACTIONS, Command, command_summary
from ..infra.session import BadCommand
from . import inputs as inp
from .context import EngineCore


def new_command(action: str, task: str = "", feedback: str = "", by: str = "app") -> Command:
    return Command(
        id=secrets.token_hex(6),
        action=action,  # type: ignore[arg-type]  # validated by pydantic
        task=task,
        feedback=feedback,
        by=by,  # type: ignore[arg-type]
        at=time.time(),
    )


def poll_inbox(engine: EngineCore) -> list[inp.CommandInput]:
    """The inbox's commands in arrival order; bad files are answered and set aside here."""
    found: list[inp.CommandInput] = []
    for path, item in engine.inbox.pending():
        if isinstance(item, BadCommand):
            engine.emit(
                ev.CommandApplied(command_id=item.name, action="?", ok=False, message=item.reason)
            )
            engine.inbox.done(path, bad=True)
        else:
            found.append(inp.CommandInput(item, path))
    return found


def apply_command(engine: EngineCore, item: inp.CommandInput) -> str | None:
    """Answer one command exactly once; returns the gate decision it made, if any."""
    command = item.command
    decision: str | None = None
    if command.action in (*PERMISSION_ACTIONS, *AGENT_ACTIONS):
        if command.id not in engine.state.applied_commands:
            answer_at_desk(engine, command)
    elif command.id not in engine.state.applied_commands:
        implementer = engine.implementer
        facts = decisions.CommandFacts(
            implementing=implementer is not None,
            running=frozenset(implementer.running) if implementer else frozenset(),
            plan_ids=frozenset(implementer.plan.by_id) if implementer else frozenset(),
            taking_over=frozenset(implementer.taking) if implementer else frozenset(),
        )
        if command.action in takeover.TAKEOVER_ACTIONS:  # take / done (core/takeover.py)
            answer = takeover.decide_takeover(engine.state, command, facts)
        else:
            answer = decisions.decide_command(engine.state, command, facts)
        engine.emit_all(answer.events)
        reply = answer.reply
        if implementer is not None:
            implementer.carry_out(reply)
        if reply.cancel_run:
            engine.cancelled = True
        engine.emit(
            ev.CommandApplied(
                command_id=command.id,
                action=command_summary(command),
                ok=reply.ok,
                message=reply.message,
            )
        )
        decision = reply.gate
    if item.path is not None:
        engine.inbox.done(item.path)
    return decision


def answer_at_desk(engine: EngineCore, command: Command) -> None:
    """allow / allow_session / deny a permission request, say / interrupt: asking.py (the
    first answer to a request wins; a later one is refused "already answered")."""
    ok, message = engine.desk.command(command)
    engine.emit(
        ev.CommandApplied(
            command_id=command.id, action=command_summary(command), ok=ok, message=message
        )
    )
