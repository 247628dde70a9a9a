"""What a trial found, the rest of it: one counting rule for `status`, the monitor and the
headless line ("7/7 done" beside "6 done · 1 skipped"; a taken-over task the monitor did
not count), and summary.md naming the profile a task ran on (after a reload, after its
workspace could not be prepared) with its title as plain text."""

from __future__ import annotations

import io
from pathlib import Path

from engine_support import Background, Recorder, engine_for, make_workspace, sim_config
from rich.console import Console
from stage_support import context, done_task

from orchestrator_tui.commands.status import status_line
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, Task, TaskStatus
from orchestrator_tui.core.protocols import SharedWorkspace
from orchestrator_tui.core.state import RunState, TaskState, replay
from orchestrator_tui.headless import HeadlessConsole
from orchestrator_tui.monitor.widgets.task_counts import counts_text
from orchestrator_tui.stages.complete import task_section


def mixed_state() -> RunState:
    statuses = {
        "T1": TaskStatus.DONE,
        "T2": TaskStatus.SKIPPED,
        "T3": TaskStatus.TAKEN_OVER,
        "T4": TaskStatus.FAILED,
        "T5": TaskStatus.PENDING,
    }
    return RunState(tasks={t: TaskState(id=t, status=s) for t, s in statuses.items()})


def test_status_monitor_and_headless_count_alike() -> None:
    state = mixed_state()
    tally = "1/5 done · 1 taken over · 1 failed · 1 skipped"
    assert tally in status_line(state, alive=True)
    headless = HeadlessConsole(Console(file=io.StringIO(), force_terminal=False))
    headless.state = state
    assert f"tasks {tally}" in headless.status_line()
    monitor = counts_text(state, width=200).plain
    assert monitor == "tasks 5: 1 taken over · 1 done · 1 pending · 1 failed · 1 skipped"


def test_skipped_is_not_done_in_the_headless_line() -> None:
    state = RunState(
        tasks={
            "T1": TaskState(id="T1", status=TaskStatus.DONE),
            "T2": TaskState(id="T2", status=TaskStatus.SKIPPED),
        }
    )
    headless = HeadlessConsole(Console(file=io.StringIO(), force_terminal=False))
    headless.state = state
    assert "tasks 1/2 done · 1 skipped" in headless.status_line()


def test_summary_names_the_profile_after_a_reload(tmp_path: Path) -> None:
    """The plan names no agent; T1 ran on the default profile `codex`; PLAN.md was saved
    again after: summary.md still says codex, not —."""
    tasks = (Task(id="T1", title="Package __init__"), Task(id="T2", title="Other"))
    state = replay(
        [
            ev.PlanFrozen(seq=1, tasks=tasks, waves=(("T1", "T2"),)),
            ev.TaskStarted(seq=2, task="T1", attempt=1, agent="codex"),
            ev.TaskFinished(seq=3, task="T1", status="done", exit_code=0),
            ev.PlanReloaded(seq=4, tasks=tasks),
        ]
    )
    ctx, _ = context(tmp_path, StageName.COMPLETE, tasks=state.tasks.values())
    lines = task_section(ctx)
    row = next(line for line in lines if line.startswith("| T1 |"))
    assert "| codex |" in row, row
    # a title is plain text: `__init__` must not turn into a bold "init"
    assert "Package \\_\\_init\\_\\_" in row, row
    untouched = next(line for line in lines if line.startswith("| T2 |"))
    assert "| — |" in untouched  # never started: no agent to name


def test_summary_row_of_a_stage_agent_and_a_plain_task(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, StageName.COMPLETE, tasks=[done_task("T9", agent="claude")])
    assert any(line.startswith("| T9 | task T9 | claude | done |") for line in task_section(ctx))


class NoWorkspace(SharedWorkspace):
    def prepare(self, task: Task, attempt: int) -> Path:
        raise OSError("disk full")


def test_a_task_whose_workspace_failed_names_its_profile(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "ws")
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(run={"retries": 0}), recorder)
    engine.isolation_factory = lambda root, run_id, config: NoWorkspace(root)
    with Background(engine):
        failed = recorder.wait_for(
            lambda e: isinstance(e, ev.TaskFinished) and "disk full" in e.reason
        )
    assert "could not prepare its workspace: disk full" in failed.reason
    started = recorder.of(ev.TaskStarted)
    assert started and {e.agent for e in started} == {"sim"}, started
