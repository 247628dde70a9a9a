"""Each attempt of a task, as a fold over the task's events.

A task can run several times: a retry after a failure, a reject, a send-back from the test
or review gate (core/fix_map.py). `TaskState` holds the latest attempt's fields; this keeps
one record per attempt — why it ran, what it was told, how it ended, what it merged — so
the detail screen can show each of them and the first attempt's feature stays visible next
to a later attempt's fix. Pure: state.py calls `fold_attempts` for the task events.
"""

from __future__ import annotations

from . import events as ev
from .models import Frozen

MAX_FEEDBACK_CHARS = 4000  # what a record keeps of the send-back text it started with

ATTEMPT_EVENTS = (
    ev.TaskStarted,
    ev.TaskUsage,
    ev.TaskFinished,
    ev.TaskMerged,
    ev.MergeConflict,
    ev.TaskTakenOver,
)


class AttemptRecord(Frozen):
    """One attempt of a task: from its TaskStarted to its end and merge."""

    number: int
    started_at: float = 0.0
    finished_at: float = 0.0
    agent: str = ""
    workdir: str = ""
    status: str = "running"  # then done, failed, skipped, conflict, cancelled, taken over
    reason: str = ""
    exit_code: int | None = None
    files: tuple[str, ...] = ()
    commit: str = ""  # its merge on the run branch, when it merged
    why: str = ""  # why it ran again (the previous attempt's end, or the send-back)
    feedback: str = ""  # the failures (and the user's text) a send-back gave it
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def duration(self) -> float:
        if not self.started_at or not self.finished_at:
            return 0.0
        return max(0.0, self.finished_at - self.started_at)


def fold_attempts(
    attempts: tuple[AttemptRecord, ...],
    event: ev.EventBase,
    why: str = "",
    feedback: str = "",
) -> tuple[AttemptRecord, ...]:
    """The records after `event`. `why` and `feedback` are the task's reason and send-back
    text just before a TaskStarted: what made this attempt happen."""
    if isinstance(event, ev.TaskStarted):
        record = AttemptRecord(
            number=event.attempt,
            started_at=event.at,
            agent=event.agent,
            workdir=event.workdir,
            why=why if event.attempt > 1 else "",
            feedback=feedback[:MAX_FEEDBACK_CHARS],
        )
        kept = tuple(a for a in attempts if a.number != event.attempt)  # a resumed attempt
        return (*kept, record)
    if not attempts:
        return attempts
    last = attempts[-1]
    match event:
        case ev.TaskUsage():
            changes: dict[str, object] = {
                "input_tokens": last.input_tokens + event.input_tokens,
                "output_tokens": last.output_tokens + event.output_tokens,
                "cost_usd": last.cost_usd + event.cost_usd,
            }
        case ev.TaskFinished():
            return tuple(finished(a, event) if a.number == event.attempt else a for a in attempts)
        case ev.TaskMerged():
            changes = {"commit": event.commit}
        case ev.MergeConflict():
            changes = {"status": "conflict", "reason": "merge conflict: " + ", ".join(event.files)}
        case ev.TaskTakenOver():
            changes = {"status": "taken over", "finished_at": event.at}
        case _:
            return attempts
    return (*attempts[:-1], last.evolve(changes))


def finished(record: AttemptRecord, event: ev.TaskFinished) -> AttemptRecord:
    status = f"{event.status}, retried" if event.will_retry else event.status
    return record.evolve(
        {
            "status": status,
            "reason": event.reason,
            "exit_code": event.exit_code,
            "files": event.files,
            "finished_at": event.at,
        }
    )
