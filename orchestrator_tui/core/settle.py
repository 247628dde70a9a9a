"""What a run looks like to someone reading it while its engine is not running.

The event log of a run whose engine stopped mid-task (a quit, a crash, kill -9) ends with
those tasks still started: folded as is, they read "running" with a clock that keeps
ticking. They are not running — nothing is — and the engine puts them back in the queue
when the run resumes. `settled()` says so: the monitor, `status` and the past-runs
screen show it.
"""

from __future__ import annotations

from .models import TaskStatus
from .run_state import RunState

STOPPED_REASON = "stopped with the engine; resuming the run starts it again"


def settled(state: RunState, engine_alive: bool) -> RunState:
    """`state` as it stands with no engine: tasks left running are pending again, and
    their clock stops at the last event. Unchanged while the engine runs."""
    if engine_alive:
        return state
    stuck = [tid for tid, task in state.tasks.items() if task.status == TaskStatus.RUNNING]
    if not stuck:
        return state
    tasks = dict(state.tasks)
    for task_id in stuck:
        task = tasks[task_id]
        tasks[task_id] = task.model_copy(
            update={
                "status": TaskStatus.PENDING,
                "finished_at": state.updated_at or task.started_at,
                "reason": STOPPED_REASON,
            }
        )
    return state.model_copy(update={"tasks": tasks})
