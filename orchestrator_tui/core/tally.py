"""How many tasks are in each state: one counting rule for every place that says it.

`status` ("6/7 done · 1 skipped"), the monitor ("tasks 7: 6 done · 1 skipped"), the
headless status line and the runs list count the same way: done means done; skipped,
taken over, failed… are named apart, never folded into "done".
"""

from __future__ import annotations

from .models import TaskStatus
from .run_state import RunState

# Every status, in the order they are said (what is happening first).
TALLY_ORDER: tuple[TaskStatus, ...] = (
    TaskStatus.RUNNING,
    TaskStatus.TAKEN_OVER,
    TaskStatus.DONE,
    TaskStatus.READY,
    TaskStatus.PENDING,
    TaskStatus.FAILED,
    TaskStatus.CONFLICT,
    TaskStatus.BLOCKED,
    TaskStatus.SKIPPED,
)
# What a one-line tally leaves unsaid: what has not started yet.
NOT_STARTED = frozenset({TaskStatus.READY, TaskStatus.PENDING})


def status_label(status: TaskStatus) -> str:
    """`taken over`, not `taken_over`."""
    return status.value.replace("_", " ")


def tally(state: RunState) -> list[tuple[TaskStatus, int]]:
    """Each status some task is in, with how many, in TALLY_ORDER."""
    counts = {status: 0 for status in TALLY_ORDER}
    for task in state.tasks.values():
        counts[task.status] = counts.get(task.status, 0) + 1
    return [(status, count) for status, count in counts.items() if count]


def task_tally(state: RunState) -> str:
    """`6/7 done · 1 skipped`: the done of all, then each other started state."""
    parts = [f"{state.count(TaskStatus.DONE)}/{len(state.tasks)} done"]
    parts += [
        f"{count} {status_label(status)}"
        for status, count in tally(state)
        if status != TaskStatus.DONE and status not in NOT_STARTED
    ]
    return " · ".join(parts)
