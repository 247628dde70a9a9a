"""What reaches the engine thread: every thread but the engine's only puts these on its queue.

The engine loop (pipeline.py) takes them one at a time and is the only code that folds state
and appends to the event log. Agent output lines are not inputs: they wait in the per-task
output buffers (output.py) that the views and the log writer drain at their own pace.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core.commands import Command
from ..core.models import StageName
from ..core.permissions import Answer, PermissionRequest
from ..core.protocols import AgentResult, StageResult


@dataclass(frozen=True)
class CommandInput:
    """A command: from the app in this process (in memory) or from the inbox (`path`)."""

    command: Command
    path: Path | None = None


@dataclass(frozen=True)
class FileChanged:
    """The watcher saw PLAN.md or CLAUDE.md change (the file's name)."""

    name: str


@dataclass(frozen=True)
class AgentUsage:
    task: str
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass(frozen=True)
class NoticeInput:
    """A warning or note from an agent, a stage runner or the notifier."""

    level: str
    text: str


@dataclass(frozen=True)
class AgentExited:
    """One attempt of a task's agent ended (its result is final)."""

    task: str
    attempt: int
    result: AgentResult
    at: float = field(default_factory=time.monotonic)  # when the exit was seen


@dataclass(frozen=True)
class StageDone:
    """A stage runner, run in a worker thread, returned (or raised: `error`)."""

    stage: StageName
    result: StageResult | None
    error: str = ""


@dataclass(frozen=True)
class Wake:
    """Nothing but a nudge: look at the clock and the stop flag (stop(), timers)."""


@dataclass(frozen=True)
class Asked:
    """An agent asked for permission (engine/asking.py); `answer` when a rule or nobody
    (headless --approve all) answered at once."""

    task: str
    attempt: int
    request_id: str
    request: PermissionRequest
    answer: Answer | None = None


@dataclass(frozen=True)
class Withdrawn:
    """The agent withdrew a request of the queue."""

    request_id: str
    reason: str


@dataclass(frozen=True)
class AttemptEnded:
    """An attempt's agent is gone: what still waits of it is withdrawn."""

    task: str
    attempt: int


AskInput = Asked | Withdrawn | AttemptEnded

Input = (
    CommandInput
    | FileChanged
    | AgentUsage
    | NoticeInput
    | AgentExited
    | StageDone
    | Wake
    | Asked
    | Withdrawn
    | AttemptEnded
)
