"""A command to the engine: what the app, the monitor and the CLI ask for."""

from __future__ import annotations

import json
from typing import Literal

from .events import Actor
from .models import Frozen

Action = Literal[
    "approve",
    "reject",
    "pause",
    "resume",
    "retry",
    "skip",
    "cancel",
    "allow",  # the permission queue (core/permissions.py): task = the request id
    "allow_session",
    "deny",  # feedback = the reason given to the agent
    "say",  # task = the task, feedback = the message
    "interrupt",
    "take",  # core/takeover.py: task = the task
    "done",
]
ACTIONS: tuple[str, ...] = (
    "approve",
    "reject",
    "pause",
    "resume",
    "retry",
    "skip",
    "cancel",
    "allow",
    "allow_session",
    "deny",
    "say",
    "interrupt",
    "take",
    "done",
)
PERMISSION_ACTIONS = ("allow", "allow_session", "deny")
AGENT_ACTIONS = ("say", "interrupt")


class Command(Frozen):
    """One request to the engine, from the app, the monitor or the CLI."""

    id: str
    action: Action
    task: str = ""
    feedback: str = ""
    by: Actor = "cli"
    at: float = 0.0


def command_summary(command: Command) -> str:
    text = command.action + (f" {command.task}" if command.task else "")
    if command.feedback:
        text += f": {json.dumps(command.feedback[:80])}"
    return text
