"""The engine's rules as plain functions: (state, plan facts, input) -> (events, reply).

Nothing here runs a thread, touches a file or reads the clock: the engine loop gathers the
facts (which tasks run, which stage is open, what git said), calls a rule, emits the events it
returns in order and carries out the effects the reply names (stop an agent, cancel the run).
So every answer the engine gives — to a command, a gate, a finished attempt, a budget — can be
tested by calling a function.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from . import events as ev
from .commands import Command
from .config import BudgetSettings
from .models import StageName, StageStatus, TaskStatus
from .protocols import AgentResult, MergeResult
from .state import RunState

MAX_BACKOFF = 60.0
RETRYABLE = (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CONFLICT)


@dataclass(frozen=True)
class Reply:
    """What the engine answers and must do besides emitting the decision's events."""

    ok: bool
    message: str
    gate: str | None = None  # a gate decision: approve, reject, retry, skip
    stop_tasks: tuple[str, ...] = ()  # running agents to stop (their late exit is ignored)
    clear_backoff: tuple[str, ...] = ()
    cancel_run: bool = False
    take_over: tuple[str, ...] = ()  # running agents to stop for a person (core/takeover.py)
    hand_back: tuple[str, ...] = ()  # taken-over tasks to commit, merge and mark done


@dataclass(frozen=True)
class Decision:
    events: tuple[ev.EventBase, ...] = ()
    reply: Reply = field(default_factory=lambda: Reply(True, ""))


def refuse(message: str) -> Decision:
    return Decision(reply=Reply(False, message))


# ---- tasks ---------------------------------------------------------------------------------


def unblock_events(state: RunState, task_id: str) -> list[ev.EventBase]:
    """Dependents blocked because of `task_id` become pending again."""
    return [
        ev.TaskReset(task=other_id, reason=f"{task_id} no longer failed")
        for other_id, other in state.tasks.items()
        if other.status == TaskStatus.BLOCKED and task_id in other.reason.split(" ")[0:1]
    ]


def retry_task(state: RunState, task_id: str) -> Decision:
    task = state.tasks[task_id]
    if task.status == TaskStatus.TAKEN_OVER:  # core/takeover.py
        return refuse(f"{task_id} is taken over: `done {task_id}` merges your work")
    if task.status not in RETRYABLE:
        return refuse(f"{task_id} is {task.status}, not failed: nothing to retry")
    events = [ev.TaskReset(task=task_id, reason="retry requested"), *unblock_events(state, task_id)]
    return Decision(
        tuple(events), Reply(True, f"{task_id} will run again", clear_backoff=(task_id,))
    )


def skip_task(state: RunState, task_id: str, running: Collection[str]) -> Decision:
    """A running task is stopped and skipped at once; its agent's late exit is ignored."""
    task = state.tasks[task_id]
    if task.status in (TaskStatus.DONE, TaskStatus.SKIPPED):
        return refuse(f"{task_id} is already {task.status}")
    if task.status == TaskStatus.RUNNING and task_id not in running:
        return refuse(f"{task_id} is running")
    events = [
        ev.TaskFinished(task=task_id, status="skipped", reason="skipped by the user"),
        *unblock_events(state, task_id),
    ]
    stop = (task_id,) if task_id in running else ()
    return Decision(
        tuple(events),
        Reply(True, f"{task_id} skipped; its dependents may run", stop_tasks=stop),
    )


def block_events(
    state: RunState, task_id: str, downstream: Sequence[str], what: str
) -> list[ev.EventBase]:
    return [
        ev.TaskBlocked(task=other, cause=f"{task_id} {what}")
        for other in downstream
        if state.tasks[other].status == TaskStatus.PENDING
    ]


def resets_for_stage(
    state: RunState, plan_ids: Collection[str], feedback: str
) -> list[ev.EventBase]:
    """Interrupted tasks start again; after a retry or a reject, failed ones do too; feedback
    that names tasks reruns those (feedback naming none reruns every done task)."""
    rerun = state.stages[StageName.IMPLEMENT].attempt > 1
    named = set(re.findall(r"[A-Za-z0-9_.\-]+", feedback)) & set(plan_ids)
    events: list[ev.EventBase] = []
    for task_id, task in state.tasks.items():
        if task_id not in plan_ids:
            continue
        if task.status == TaskStatus.RUNNING:
            events.append(
                ev.TaskReset(task=task_id, reason="interrupted; starting again", interrupted=True)
            )
        elif rerun and task.status in RETRYABLE:
            events.append(ev.TaskReset(task=task_id, reason="stage retried"))
        elif feedback and task.status == TaskStatus.DONE and (not named or task_id in named):
            events.append(ev.TaskReset(task=task_id, reason="changes requested"))
    return events


@dataclass(frozen=True)
class Attempt:
    """The facts of one finished agent attempt, as the engine gathered them."""

    task: str
    attempt: int
    duration: float
    result: AgentResult
    merge: MergeResult | None = None  # None: the agent failed, or merging raised
    merge_error: str = ""
    budget_hit: bool = False


@dataclass(frozen=True)
class AttemptOutcome:
    events: tuple[ev.EventBase, ...]
    retry_in: float | None = None  # seconds of backoff before the next attempt
    failed: str = ""  # the reason, when the task failed for good (to notify the user)


def after_attempt(
    state: RunState,
    attempt: Attempt,
    downstream: Sequence[str],
    retries: int,
    backoff: float,
    budget_stopped: bool,
) -> AttemptOutcome:
    """A finished attempt: merged and done, a conflict, a retry after backoff, or a failure
    that blocks everything downstream (at once when the agent cannot start as configured:
    `AgentResult.retryable` is False and no retry could help)."""
    task_id, result = attempt.task, attempt.result
    common = {"task": task_id, "attempt": attempt.attempt, "duration": attempt.duration}
    if result.ok and attempt.merge is not None:
        merge = attempt.merge
        if merge.conflict_files:
            return AttemptOutcome(
                (
                    ev.MergeConflict(task=task_id, files=merge.conflict_files),
                    ev.TaskFinished(
                        **common,
                        status="conflict",
                        reason="merge conflict: " + ", ".join(merge.conflict_files),
                    ),
                    *block_events(state, task_id, downstream, "has a merge conflict"),
                )
            )
        if merge.ok:
            return AttemptOutcome(
                (
                    ev.TaskMerged(task=task_id, commit=merge.commit),
                    ev.TaskFinished(
                        **common,
                        status="done",
                        reason=result.reason or "ok",  # "denied by the user: …" stays
                        exit_code=result.exit_code,
                        files=merge.files or result.files,
                        session_id=result.session_id,
                    ),
                )
            )
        return failed_for_good(state, attempt, downstream, merge.message, None)
    if result.ok:
        return failed_for_good(state, attempt, downstream, f"merge failed: {attempt.merge_error}")
    reason = "task budget reached" if attempt.budget_hit else result.reason
    retry = result.retryable and not attempt.budget_hit and not budget_stopped
    if retry and attempt.attempt <= retries:
        delay = min(backoff * 2 ** (attempt.attempt - 1), MAX_BACKOFF)
        finished = ev.TaskFinished(
            **common,
            status="failed",
            reason=f"{reason}; retrying in {delay:g} s",
            exit_code=result.exit_code,
            will_retry=True,
            session_id=result.session_id,
        )
        return AttemptOutcome((finished,), retry_in=delay)
    return failed_for_good(state, attempt, downstream, reason, result.exit_code)


def failed_for_good(
    state: RunState,
    attempt: Attempt,
    downstream: Sequence[str],
    reason: str,
    exit_code: int | None = None,
    duration: float | None = None,
) -> AttemptOutcome:
    finished = ev.TaskFinished(
        task=attempt.task,
        status="failed",
        reason=reason,
        exit_code=exit_code,
        attempt=attempt.attempt,
        duration=attempt.duration if duration is None else duration,
    )
    return AttemptOutcome(
        (finished, *block_events(state, attempt.task, downstream, "failed")), failed=reason
    )


@dataclass(frozen=True)
class BudgetCheck:
    events: tuple[ev.EventBase, ...] = ()
    stop_run: bool = False  # no new task starts
    stop_tasks: tuple[str, ...] = ()  # running tasks over their own budget


def check_budget(
    state: RunState,
    budget: BudgetSettings,
    running: Mapping[str, bool],
    budget_stopped: bool,
) -> BudgetCheck:
    """`running` maps each running task to whether its budget was already hit."""
    events: list[ev.EventBase] = []
    # The run's totals are sums over every task: only add them up when a limit is set.
    tokens = state.input_tokens + state.output_tokens if budget.usd or budget.tokens else 0
    stop_run = not budget_stopped and bool(
        (budget.usd and state.cost_usd >= budget.usd) or (budget.tokens and tokens >= budget.tokens)
    )
    if stop_run:
        events.append(
            ev.BudgetReached(
                scope="run",
                limit=f"${budget.usd:g} / {budget.tokens:,} tokens",
                spent=f"${state.cost_usd:.4f} / {tokens:,} tokens",
            )
        )
    stop_tasks: list[str] = []
    for task_id, already_hit in running.items() if budget.task_usd or budget.task_tokens else ():
        task = state.tasks[task_id]
        if not already_hit and (
            (budget.task_usd and task.cost_usd >= budget.task_usd)
            or (budget.task_tokens and task.tokens >= budget.task_tokens)
        ):
            stop_tasks.append(task_id)
            events.append(
                ev.BudgetReached(
                    scope=f"task {task_id}",
                    spent=f"${task.cost_usd:.4f} / {task.tokens:,}",
                    limit=f"${budget.task_usd:g} / {budget.task_tokens:,} tokens",
                )
            )
    return BudgetCheck(tuple(events), stop_run, tuple(stop_tasks))


# ---- gates and commands -------------------------------------------------------------------


@dataclass(frozen=True)
class GateArrival:
    events: tuple[ev.EventBase, ...]
    decision: str | None  # "approve" when it passed by itself
    opened: bool  # a person is now asked (notify them)


def arrive_at_gate(
    state: RunState, stage: StageName, auto: bool, reject_hint: str = ""
) -> GateArrival:
    """After a stage: pass by itself (auto, not failed, no blockers) or open the gate. A gate
    already open (left by a killed run) is decided by this process's auto-approval like any
    other gate, or stays open."""
    stage_state = state.stages[stage]
    if stage_state.status == StageStatus.AWAITING_APPROVAL:
        gate = state.gate
        if auto and gate is not None and not gate.failed and not gate.blockers:
            return GateArrival(
                (ev.GateDecided(stage=stage, decision="approve", by="auto"),), "approve", False
            )
        return GateArrival((), None, False)
    failed = stage_state.status == StageStatus.FAILED
    if auto and not failed and not stage_state.blockers:
        return GateArrival(
            (ev.GateDecided(stage=stage, decision="approve", by="auto"),), "approve", False
        )
    opened = ev.GateOpened(
        stage=stage,
        failed=failed,
        summary=stage_state.summary,
        blockers=stage_state.blockers,
        reject_hint=reject_hint,
    )
    return GateArrival((opened,), None, True)


GATE_ACTIONS = {"approve": "approve", "reject": "reject", "retry": "retry", "skip": "skip"}


@dataclass(frozen=True)
class CommandFacts:
    """What a command's answer depends on besides the state."""

    implementing: bool = False  # the implement stage is running its tasks
    running: frozenset[str] = frozenset()  # tasks whose agents run now
    plan_ids: frozenset[str] = frozenset()  # the tasks of the running plan
    taking_over: frozenset[str] = frozenset()  # running tasks whose agent stops for a person


def decide_command(state: RunState, command: Command, facts: CommandFacts) -> Decision:
    """pause, resume, cancel, a gate decision, or retry/skip of one task."""
    action = command.action
    if action == "pause":
        if state.paused:
            return refuse("already paused")
        return Decision(
            (ev.RunPaused(by=command.by),), Reply(True, "paused: no new stage or task starts")
        )
    if action == "resume":
        if not state.paused:
            return refuse("not paused")
        return Decision((ev.RunResumed(by=command.by),), Reply(True, "resumed"))
    if action == "cancel":
        return Decision(reply=Reply(True, "cancelling the run", cancel_run=True))
    if command.task and action in ("retry", "skip"):
        return decide_task_command(state, command, facts)
    gate = state.gate
    if gate is None:
        return refuse(f"nothing waits for approval; {action} ignored")
    if action == "approve" and gate.failed:
        return refuse(f"{gate.stage} failed: retry, skip or cancel")
    decision = GATE_ACTIONS[action]
    decided = ev.GateDecided(
        stage=gate.stage,
        decision=decision,  # type: ignore[arg-type]
        feedback=command.feedback,
        by=command.by,
    )
    return Decision((decided,), Reply(True, f"{gate.stage}: {action}", gate=decision))


def decide_task_command(state: RunState, command: Command, facts: CommandFacts) -> Decision:
    """retry TASK / skip TASK: by the running implement stage, or at its failed gate (which
    then runs implement again)."""
    task_id = command.task
    if task_id not in state.tasks:
        return refuse(f"no task {task_id!r}")
    if facts.implementing and task_id not in facts.plan_ids:
        return refuse(f"{task_id} is not in the plan")
    if command.action == "retry":
        change = retry_task(state, task_id)
    else:
        change = skip_task(state, task_id, facts.running)
    gate = state.gate
    if (
        facts.implementing
        or not change.reply.ok
        or gate is None
        or gate.stage != StageName.IMPLEMENT
    ):
        return change
    message = change.reply.message
    decided = ev.GateDecided(stage=gate.stage, decision="retry", feedback=message, by=command.by)
    return Decision((*change.events, decided), Reply(True, message, gate="retry"))
