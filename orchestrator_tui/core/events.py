"""Events: immutable records of what happened, the only thing the engine emits.

The event log is the one source of truth: a run's state is a fold over its events
(state.py), resume replays them, and the monitor tails them. Agent output is the one
exception that is not written to the log (it goes to the task's log file) — `TaskOutput`
reaches live views only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Protocol

from pydantic import Field, TypeAdapter, ValidationError

from .models import Frozen, StageName, Task

Decision = Literal["approve", "reject", "retry", "skip", "abort"]
Actor = Literal["app", "monitor", "cli", "auto", "engine"]


class EventBase(Frozen):
    seq: int = 0
    at: float = 0.0

    @property
    def persisted(self) -> bool:
        return True


class RunStarted(EventBase):
    kind: Literal["run_started"] = "run_started"
    run_id: str
    workspace: str
    goal: str = ""
    resumed: bool = False
    pid: int = 0


class StageStarted(EventBase):
    kind: Literal["stage_started"] = "stage_started"
    stage: StageName
    attempt: int = 1
    feedback: str = ""
    builtin: bool = True


class StageFinished(EventBase):
    kind: Literal["stage_finished"] = "stage_finished"
    stage: StageName
    status: Literal["done", "failed", "skipped"]
    summary: str = ""
    details: str = ""
    evidence: dict[str, Any] = {}
    blockers: tuple[str, ...] = ()
    passthrough: bool = False


class GateOpened(EventBase):
    kind: Literal["gate_opened"] = "gate_opened"
    stage: StageName
    failed: bool = False
    summary: str = ""
    blockers: tuple[str, ...] = ()
    reject_hint: str = ""  # what a reject here does with its text (core/reject.py)


class GateDecided(EventBase):
    kind: Literal["gate_decided"] = "gate_decided"
    stage: StageName
    decision: Decision
    feedback: str = ""
    by: Actor = "cli"


class PlanFrozen(EventBase):
    kind: Literal["plan_frozen"] = "plan_frozen"
    tasks: tuple[Task, ...]
    waves: list[list[str]] = []
    critical_path: list[str] = []
    overlaps: list[list[str]] = []


class TaskStarted(EventBase):
    kind: Literal["task_started"] = "task_started"
    task: str
    attempt: int = 1
    agent: str = ""
    workdir: str = ""


class TaskOutput(EventBase):
    """A batch of an agent's output lines; for live views, never written to the log."""

    kind: Literal["task_output"] = "task_output"
    task: str
    lines: tuple[str, ...]

    @property
    def persisted(self) -> bool:
        return False


class TaskUsage(EventBase):
    """Tokens and cost an agent reported, as increments."""

    kind: Literal["task_usage"] = "task_usage"
    task: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class TaskFinished(EventBase):
    kind: Literal["task_finished"] = "task_finished"
    task: str
    status: Literal["done", "failed", "skipped", "conflict", "cancelled"]
    reason: str = ""
    exit_code: int | None = None
    attempt: int = 1
    duration: float = 0.0
    will_retry: bool = False
    files: tuple[str, ...] = ()
    session_id: str = ""


class TaskBlocked(EventBase):
    kind: Literal["task_blocked"] = "task_blocked"
    task: str
    cause: str


class TaskReset(EventBase):
    """A failed, blocked or interrupted task is pending again (retry, or resume)."""

    kind: Literal["task_reset"] = "task_reset"
    task: str
    reason: str = ""
    # the attempt that ran never ended (the orchestrator was stopped or killed): it runs
    # again under the same number, so a crash never uses up one of the task's retries
    interrupted: bool = False


class TaskMerged(EventBase):
    kind: Literal["task_merged"] = "task_merged"
    task: str
    commit: str = ""


class MergeConflict(EventBase):
    kind: Literal["merge_conflict"] = "merge_conflict"
    task: str
    files: tuple[str, ...] = ()


class PlanReloaded(EventBase):
    kind: Literal["plan_reloaded"] = "plan_reloaded"
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    error: str = ""
    tasks: tuple[Task, ...] = ()


class SystemReloaded(EventBase):
    kind: Literal["system_reloaded"] = "system_reloaded"
    sections: tuple[str, ...] = ()


class BudgetReached(EventBase):
    kind: Literal["budget_reached"] = "budget_reached"
    scope: str = "run"
    limit: str = ""
    spent: str = ""


class RunPaused(EventBase):
    kind: Literal["run_paused"] = "run_paused"
    by: Actor = "cli"


class RunResumed(EventBase):
    kind: Literal["run_resumed"] = "run_resumed"
    by: Actor = "cli"


class RunFinished(EventBase):
    kind: Literal["run_finished"] = "run_finished"
    outcome: Literal["complete", "failed", "cancelled", "aborted"]
    reason: str = ""


class Notice(EventBase):
    kind: Literal["notice"] = "notice"
    level: Literal["info", "warning", "error"] = "info"
    text: str


class CommandApplied(EventBase):
    """An inbox command was consumed; `ok` false means it was refused, with the reason."""

    kind: Literal["command_applied"] = "command_applied"
    command_id: str
    action: str
    ok: bool = True
    message: str = ""


class TaskTakenOver(EventBase):
    """A person took the task over (core/takeover.py): its agent was stopped and the task
    waits for `done`. `command` resumes the agent's own session (in `workdir`, with `env`);
    empty when there is none to resume (`note` says why)."""

    kind: Literal["task_taken_over"] = "task_taken_over"
    task: str
    attempt: int = 1
    session_id: str = ""
    workdir: str = ""
    agent: str = ""
    backend: str = ""
    command: tuple[str, ...] = ()
    env: dict[str, str] = {}
    note: str = ""


class FixRoundStarted(EventBase):
    """A send-back from the test or review gate (core/fix_map.py): the tasks that own the
    failures (and a fix task for what none owns) run again with `feedback[task]` in their
    prompt, then the stages from implement to `stage` run again."""

    kind: Literal["fix_round_started"] = "fix_round_started"
    stage: StageName
    round: int
    tasks: tuple[str, ...] = ()
    fix_task: Task | None = None
    feedback: dict[str, str] = {}
    seen: dict[str, tuple[str, ...]] = {}  # stage → what its approved result showed


class PermissionAsked(EventBase):
    """An agent asks for a tool its mode does not allow (core/permissions.py); it waits
    until the first PermissionAnswered or PermissionWithdrawn of `request_id`."""

    kind: Literal["permission_asked"] = "permission_asked"
    request_id: str
    task: str
    attempt: int = 1
    tool: str = ""
    summary: str = ""
    detail: str = ""
    options: tuple[str, ...] = ("allow", "allow_session", "deny")


class PermissionAnswered(EventBase):
    """allow | allow_session | deny, by a person (app, monitor, cli), a rule, the timeout
    or, headless with --approve all, nobody (unattended)."""

    kind: Literal["permission_answered"] = "permission_answered"
    request_id: str
    task: str = ""
    decision: str
    message: str = ""
    by: str = ""


class PermissionWithdrawn(EventBase):
    """The agent no longer waits: it withdrew the request, exited, or the run stopped."""

    kind: Literal["permission_withdrawn"] = "permission_withdrawn"
    request_id: str
    task: str = ""
    reason: str = ""


class AgentTold(EventBase):
    """A person spoke to a running agent: `say` (a message into its session) or
    `interrupt` (stop the current turn); `ok` false with why it did not reach it."""

    kind: Literal["agent_told"] = "agent_told"
    task: str
    action: Literal["say", "interrupt"]
    text: str = ""
    by: str = ""
    ok: bool = True
    message: str = ""


Event = Annotated[
    RunStarted
    | StageStarted
    | StageFinished
    | GateOpened
    | GateDecided
    | PlanFrozen
    | TaskStarted
    | TaskOutput
    | TaskUsage
    | TaskFinished
    | TaskBlocked
    | TaskReset
    | TaskMerged
    | MergeConflict
    | PlanReloaded
    | SystemReloaded
    | BudgetReached
    | RunPaused
    | RunResumed
    | RunFinished
    | Notice
    | CommandApplied
    | FixRoundStarted
    | PermissionAsked
    | PermissionAnswered
    | PermissionWithdrawn
    | AgentTold
    | TaskTakenOver,
    Field(discriminator="kind"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
KNOWN_KINDS = frozenset(cls.model_fields["kind"].default for cls in EventBase.__subclasses__())


class EventSink(Protocol):
    """Whatever wants to hear about events: the log, a view, a test recorder."""

    def emit(self, event: EventBase) -> None: ...


def dump_event(event: EventBase) -> str:
    return event.model_dump_json()


def load_event(line: str) -> EventBase | None:
    """One log line → an event; None for a kind this version does not know (a newer
    writer). Raises ValueError for a line that is not a valid event."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(raw, dict) or "kind" not in raw:
        raise ValueError("not an event object")
    if raw["kind"] not in KNOWN_KINDS:
        return None
    try:
        return EVENT_ADAPTER.validate_python(raw)
    except ValidationError as exc:
        raise ValueError(f"invalid {raw['kind']} event: {exc.errors()[0]['msg']}") from None
