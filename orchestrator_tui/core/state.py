"""RunState: what a run looks like now, as a fold over its events.

`apply(state, event)` returns a new state; nothing else changes a RunState. Resume, the
monitor, `status` and the app all derive their picture this way, so they cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import events as ev
from .attempts import ATTEMPT_EVENTS, fold_attempts
from .models import STAGES, StageName, StageStatus, Task, TaskStatus
from .permissions import fold_permission
from .run_state import Gate, RunState, StageState, Takeover, TaskState

__all__ = ["Gate", "RunState", "StageState", "Takeover", "TaskState", "apply", "replay"]


MAX_NOTICES = 50


def task_state(task: Task, previous: TaskState | None = None) -> TaskState:
    base = previous or TaskState(id=task.id)
    status = base.status
    if base.status == TaskStatus.PENDING and (task.done or task.skip):
        status = TaskStatus.DONE if task.done else TaskStatus.SKIPPED
    return base.evolve(
        {
            "title": task.title,
            "depends": task.depends,
            "files": task.files,
            # The profile a started task ran on stays when a reload's plan names none.
            "agent": task.agent or base.agent,
            "status": status,
        }
    )


def update_task(state: RunState, task_id: str, **changes: object) -> RunState:
    current = state.tasks.get(task_id) or TaskState(id=task_id)
    tasks = dict(state.tasks)
    tasks[task_id] = current.evolve(changes)
    return state.evolve({"tasks": tasks})


def update_stage(state: RunState, stage: StageName, **changes: object) -> RunState:
    stages = dict(state.stages)
    stages[stage] = stages[stage].evolve(changes)
    return state.evolve({"stages": stages})


TASK_STATUS_OF_FINISH = {
    "done": TaskStatus.DONE,
    "failed": TaskStatus.FAILED,
    "skipped": TaskStatus.SKIPPED,
    "conflict": TaskStatus.CONFLICT,
    "cancelled": TaskStatus.PENDING,
}


def apply(state: RunState, event: ev.EventBase) -> RunState:
    """The state after `event`. Unknown or output events change only the bookkeeping."""
    if event.persisted:
        state = state.evolve({"last_seq": event.seq, "updated_at": event.at})
    after = fold(state, event)
    if isinstance(event, ATTEMPT_EVENTS):
        after = record_attempt(state, after, event)
    return after


def fold(state: RunState, event: ev.EventBase) -> RunState:
    match event:
        case ev.RunStarted():
            return state.evolve(
                {
                    "run_id": event.run_id,
                    "workspace": event.workspace,
                    "goal": event.goal or state.goal,
                    "started_at": state.started_at or event.at,
                    "pid": event.pid,
                    "outcome": "",
                    "paused": False,
                }
            )
        case ev.StageStarted():
            return update_stage(
                state,
                event.stage,
                status=StageStatus.RUNNING,
                attempt=event.attempt,
                started_at=event.at,
                finished_at=0.0,
                feedback=event.feedback,
            ).evolve({"gate": None})
        case ev.StageFinished():
            status = {
                "done": StageStatus.DONE,
                "failed": StageStatus.FAILED,
                "skipped": StageStatus.SKIPPED,
            }[event.status]
            return update_stage(
                state,
                event.stage,
                status=status,
                finished_at=event.at,
                summary=event.summary,
                details=event.details,
                evidence=event.evidence,
                blockers=event.blockers,
                passthrough=event.passthrough,
            )
        case ev.GateOpened():
            gate = Gate(
                stage=event.stage,
                failed=event.failed,
                summary=event.summary,
                blockers=event.blockers,
                opened_at=event.at,
                reject_hint=event.reject_hint,
            )
            state = update_stage(state, event.stage, status=StageStatus.AWAITING_APPROVAL)
            return state.evolve({"gate": gate})
        case ev.GateDecided():
            status = {
                "approve": StageStatus.APPROVED,
                "reject": StageStatus.REJECTED,
                "retry": StageStatus.PENDING,
                "skip": StageStatus.SKIPPED,
                "abort": StageStatus.FAILED,
            }[event.decision]
            state = update_stage(
                state, event.stage, status=status, decided_by=event.by, feedback=event.feedback
            )
            return state.evolve({"gate": None})
        case ev.PlanFrozen() | ev.PlanReloaded():
            return apply_plan(state, event)
        case ev.FixRoundStarted():
            return apply_fix_round(state, event)
        case ev.TaskStarted():
            return update_task(
                state,
                event.task,
                status=TaskStatus.RUNNING,
                attempt=event.attempt,
                agent=event.agent,
                workdir=event.workdir,
                started_at=event.at,
                finished_at=0.0,
                reason="",
                exit_code=None,
            )
        case ev.TaskOutput():
            if not event.lines or event.task not in state.tasks:
                return state
            return update_task(state, event.task, last_line=event.lines[-1])
        case ev.TaskUsage():
            if event.task not in state.tasks:
                return add_stage_agent_usage(state, event)
            return update_task(state, event.task, **usage_after(state.tasks[event.task], event))
        case ev.TaskFinished():
            status = TASK_STATUS_OF_FINISH[event.status]
            if event.will_retry:
                status = TaskStatus.PENDING
            return update_task(
                state,
                event.task,
                status=status,
                finished_at=event.at,
                reason=event.reason,
                exit_code=event.exit_code,
                changed_files=whole_task_files(state, event),
                session_id=event.session_id,
                **({"fix_feedback": ""} if status == TaskStatus.DONE else {}),
            )
        case ev.TaskBlocked():
            return update_task(state, event.task, status=TaskStatus.BLOCKED, reason=event.cause)
        case ev.TaskReset():
            changes: dict[str, object] = {"status": TaskStatus.PENDING, "reason": event.reason}
            if event.interrupted and event.task in state.tasks:
                changes["attempt"] = max(state.tasks[event.task].attempt - 1, 0)
            return update_task(state, event.task, **changes)
        case ev.TaskMerged():
            commits = state.tasks[event.task].commits if event.task in state.tasks else ()
            if event.commit and event.commit not in commits:
                commits = (*commits, event.commit)
            return update_task(state, event.task, merged=True, commit=event.commit, commits=commits)
        case ev.MergeConflict():
            return update_task(
                state,
                event.task,
                status=TaskStatus.CONFLICT,
                conflict_files=event.files,
                reason="merge conflict: " + ", ".join(event.files),
            )
        case ev.RunPaused():
            return state.evolve({"paused": True})
        case ev.RunResumed():
            return state.evolve({"paused": False})
        case ev.RunFinished():
            return state.evolve(
                {"outcome": event.outcome, "outcome_reason": event.reason, "gate": None}
            )
        case ev.Notice():
            notices = (*state.notices, f"{event.level}: {event.text}")[-MAX_NOTICES:]
            return state.evolve({"notices": notices})
        case ev.PermissionAsked() | ev.PermissionAnswered() | ev.PermissionWithdrawn():
            permissions = fold_permission(state.permissions, event)
            return state.evolve({"permissions": permissions})
        case ev.TaskTakenOver():
            return apply_takeover(state, event)
        case ev.CommandApplied():
            applied = state.applied_commands | {event.command_id}
            return state.evolve({"applied_commands": applied})
    return state


def record_attempt(before: RunState, after: RunState, event: ev.EventBase) -> RunState:
    """`after` with the task's attempt records after one of its events, as they follow from
    `before` (why it ran: its reason and send-back text as they stood before a TaskStarted)."""
    task = before.tasks.get(getattr(event, "task", ""))
    if task is None:  # a stage's own agent, or a task not in the plan: no records
        return after
    attempts = fold_attempts(task.attempts, event, task.reason, task.fix_feedback)
    current = after.tasks.get(task.id)
    if current is None or attempts == task.attempts:
        return after
    if after.tasks is before.tasks:
        return update_task(after, task.id, attempts=attempts)
    # the fold made this dict for `after`, which nobody has seen yet: no second copy of it
    after.tasks[task.id] = current.evolve({"attempts": attempts})
    return after


def usage_after(spender: TaskState, event: ev.TaskUsage) -> dict[str, object]:
    """A task's (or stage agent's) totals once `event`'s increments are added."""
    return {
        "input_tokens": spender.input_tokens + event.input_tokens,
        "output_tokens": spender.output_tokens + event.output_tokens,
        "cost_usd": spender.cost_usd + event.cost_usd,
    }


def add_stage_agent_usage(state: RunState, event: ev.TaskUsage) -> RunState:
    agent = state.stage_agents.get(event.task) or TaskState(id=event.task)
    agents = dict(state.stage_agents)
    agents[event.task] = agent.evolve(usage_after(agent, event))
    return state.evolve({"stage_agents": agents})


def apply_plan(state: RunState, event: ev.PlanFrozen | ev.PlanReloaded) -> RunState:
    if isinstance(event, ev.PlanReloaded) and event.error:
        return state.evolve({"plan_error": event.error})
    tasks: dict[str, TaskState] = {}
    for task in event.tasks:
        tasks[task.id] = task_state(task, state.tasks.get(task.id))
    for task_id, task in state.tasks.items():
        if task_id not in tasks and task.status != TaskStatus.PENDING:
            tasks[task_id] = task  # started work is never forgotten
    update: dict[str, object] = {"tasks": tasks, "plan_error": ""}
    if isinstance(event, ev.PlanFrozen):
        update["critical_path"] = tuple(event.critical_path)
        update["waves"] = tuple(tuple(w) for w in event.waves)
    return state.model_copy(update=update)


def replay(events: Iterable[ev.EventBase], state: RunState | None = None) -> RunState:
    state = state or RunState()
    for event in events:
        state = apply(state, event)
    return state


def whole_task_files(state: RunState, event: ev.TaskFinished) -> tuple[str, ...]:
    """A done task's files over all its merged attempts (a rerun adds to the first's)."""
    previous = state.tasks.get(event.task)
    if event.status != "done" or previous is None or not previous.merged:
        return event.files
    return tuple(sorted({*previous.changed_files, *event.files}))


def apply_fix_round(state: RunState, event: ev.FixRoundStarted) -> RunState:
    """Implement runs again (for the tasks sent back), then every stage up to the sender."""
    if event.fix_task is not None and event.fix_task.id not in state.tasks:
        tasks = dict(state.tasks)
        tasks[event.fix_task.id] = task_state(event.fix_task)
        state = state.evolve({"tasks": tasks})
    for task_id, text in event.feedback.items():
        if task_id in state.tasks:
            state = update_task(state, task_id, fix_feedback=text)
    first, last = STAGES.index(StageName.IMPLEMENT), STAGES.index(event.stage)
    for stage in STAGES[first : last + 1]:
        state = update_stage(
            state,
            stage,
            status=StageStatus.PENDING,
            fix_round=event.round,
            feedback="",
            approved_seen=event.seen.get(stage.value),
        )
    return state.evolve({"fix_round": event.round, "gate": None})


def apply_takeover(state: RunState, event: ev.TaskTakenOver) -> RunState:
    """A person works on the task now: not failed, not running, not retried (its dependents
    wait for `done`)."""
    takeover = Takeover(
        command=event.command,
        env=event.env,
        note=event.note,
        backend=event.backend,
        at=event.at,
    )
    session = event.session_id or (
        state.tasks[event.task].session_id if event.task in state.tasks else ""
    )
    return update_task(
        state,
        event.task,
        status=TaskStatus.TAKEN_OVER,
        attempt=event.attempt,
        workdir=event.workdir
        or (state.tasks[event.task].workdir if event.task in state.tasks else ""),
        session_id=session,
        finished_at=event.at,
        reason="taken over by hand",
        takeover=takeover,
    )
