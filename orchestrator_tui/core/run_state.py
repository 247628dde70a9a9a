"""The shape of a run's state: its stages, tasks, gate, permission requests and totals.
Frozen values; core/state.py folds events into them (nothing else changes one)."""

from __future__ import annotations

from pydantic import Field

from .attempts import AttemptRecord
from .models import STAGES, Frozen, StageName, StageStatus, TaskStatus
from .permissions import PermissionState


class StageState(Frozen):
    name: StageName
    status: StageStatus = StageStatus.PENDING
    attempt: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    summary: str = ""
    details: str = ""
    evidence: dict = {}
    blockers: tuple[str, ...] = ()
    passthrough: bool = False
    decided_by: str = ""
    feedback: str = ""
    fix_round: int = 0  # the send-back round this stage last ran for (board: ↺N)
    approved_seen: tuple[str, ...] | None = None  # what was approved before the fix round

    @property
    def elapsed(self) -> float:
        if not self.started_at:
            return 0.0
        return (self.finished_at or self.started_at) - self.started_at


class Takeover(Frozen):
    """How to open a taken-over task's session again (ev.TaskTakenOver)."""

    command: tuple[str, ...] = ()
    env: dict[str, str] = {}
    note: str = ""
    backend: str = ""
    at: float = 0.0


class TaskState(Frozen):
    id: str
    title: str = ""
    depends: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    agent: str = ""
    status: TaskStatus = TaskStatus.PENDING
    attempt: int = 0
    started_at: float = 0.0
    finished_at: float = 0.0
    reason: str = ""
    exit_code: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    workdir: str = ""
    merged: bool = False
    commit: str = ""
    conflict_files: tuple[str, ...] = ()
    changed_files: tuple[str, ...] = ()
    session_id: str = ""
    last_line: str = ""
    commits: tuple[str, ...] = ()  # every merge of the task, over all its attempts
    fix_feedback: str = ""  # the failures a send-back gave it, for its next attempt
    takeover: Takeover | None = None  # set while (and after) a person took it over
    attempts: tuple[AttemptRecord, ...] = ()  # one record per attempt (core/attempts.py)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Gate(Frozen):
    stage: StageName
    failed: bool = False
    summary: str = ""
    blockers: tuple[str, ...] = ()
    opened_at: float = 0.0
    reject_hint: str = ""


class RunState(Frozen):
    run_id: str = ""
    workspace: str = ""
    goal: str = ""
    started_at: float = 0.0
    updated_at: float = 0.0
    pid: int = 0
    last_seq: int = 0
    stages: dict[StageName, StageState] = Field(
        default_factory=lambda: {s: StageState(name=s) for s in STAGES}
    )
    tasks: dict[str, TaskState] = {}
    stage_agents: dict[str, TaskState] = {}  # a stage's own agent (review-agent, …): not a task
    critical_path: tuple[str, ...] = ()
    waves: tuple[tuple[str, ...], ...] = ()
    gate: Gate | None = None
    fix_round: int = 0  # send-back rounds so far (core/fix_map.py)
    paused: bool = False
    outcome: str = ""
    outcome_reason: str = ""
    notices: tuple[str, ...] = ()
    applied_commands: frozenset[str] = frozenset()
    plan_error: str = ""
    permissions: dict[str, PermissionState] = {}  # the queue (core/permissions.py)

    @property
    def current_stage(self) -> StageName | None:
        """The stage at work or waiting, else the first not yet through."""
        for stage in STAGES:
            if self.stages[stage].status not in (
                StageStatus.DONE,
                StageStatus.APPROVED,
                StageStatus.SKIPPED,
            ):
                return stage
        return None

    @property
    def finished(self) -> bool:
        return bool(self.outcome)

    def count(self, status: TaskStatus) -> int:
        return sum(1 for task in self.tasks.values() if task.status == status)

    @property
    def spenders(self) -> list[TaskState]:
        """Everything that used tokens: the plan's tasks and the stages' own agents."""
        return [*self.tasks.values(), *self.stage_agents.values()]

    @property
    def input_tokens(self) -> int:
        return sum(t.input_tokens for t in self.spenders)

    @property
    def output_tokens(self) -> int:
        return sum(t.output_tokens for t in self.spenders)

    @property
    def cost_usd(self) -> float:
        return sum(t.cost_usd for t in self.spenders)
