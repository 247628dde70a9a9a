"""What a trial on a real repository found in the monitor and `status`: a cancelled task
shown running with a ticking clock after a quit, "7/7 done" beside "6 done · 1 skipped",
the previous run's last message kept after switching to a new run."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from monitor_support import (
    NOW,
    RUN_ID,
    T0,
    implementing,
    recorded_implementing,
    stamped,
    waiting_at_review,
    write_events,
    write_lock,
)
from test_monitor import inbox, monitor, run_async, shown, until

from orchestrator_tui.commands import status
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.state import replay
from orchestrator_tui.infra.store import RunFiles
from orchestrator_tui.monitor.settle import settled
from orchestrator_tui.monitor.widgets.agent_lines import AgentLines
from orchestrator_tui.monitor.widgets.message_lines import MessageLines
from orchestrator_tui.monitor.widgets.task_counts import TaskCounts

SIZE = (40, 30)


def status_of(workspace: Path, capsys) -> str:
    assert status.main(argparse.Namespace(workspace=str(workspace), json=False)) == 0
    return capsys.readouterr().out.strip()


def test_status_with_the_engine_gone_shows_nothing_running(tmp_path: Path, capsys) -> None:
    """The engine quit mid-task (no lock left): its tasks are not "running"."""
    write_events(RunFiles(tmp_path, RUN_ID), implementing())
    line = status_of(tmp_path, capsys)
    assert "running" not in line
    assert "engine stopped" in line
    write_lock(tmp_path, heartbeat_at=time.time())  # alive again
    assert "2 running" in status_of(tmp_path, capsys)


def test_status_counts_skipped_apart_from_done(tmp_path: Path, capsys) -> None:
    events = waiting_at_review()
    skipped = [e for e in events if not (isinstance(e, ev.TaskFinished) and e.task == "T7")]
    at = T0 + 90
    skipped.insert(
        len(skipped) - 8, ev.TaskFinished(task="T7", status="skipped", exit_code=None, at=at)
    )
    write_events(RunFiles(tmp_path, RUN_ID), stamped(skipped))
    line = status_of(tmp_path, capsys)
    assert "6/7 done · 1 skipped" in line, line


def test_settled_stops_the_clock_at_the_last_event() -> None:
    state = replay(implementing())
    after = settled(state, engine_alive=False)
    assert [t.id for t in after.tasks.values() if t.status == "running"] == []
    assert after.tasks["T2"].status == "pending"
    assert after.tasks["T2"].finished_at == state.updated_at
    assert settled(state, engine_alive=True) is state


@run_async
async def test_monitor_with_the_engine_gone_shows_no_agent_running(tmp_path: Path) -> None:
    recorded_implementing(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert "T2" in shown(app, AgentLines)
        assert "2 running" in app.query_one(TaskCounts).render().plain
        (tmp_path / ".orchestrator" / "lock").unlink()
        await until(pilot, lambda: not app.query_one(AgentLines).display)
        counts = app.query_one(TaskCounts).render().plain
        assert "running" not in counts, counts


@run_async
async def test_a_new_run_drops_the_previous_runs_messages(tmp_path: Path) -> None:
    files = RunFiles(tmp_path, RUN_ID)
    write_events(files, waiting_at_review())
    write_lock(tmp_path, heartbeat_at=NOW - 1)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await until(pilot, lambda: bool(inbox(tmp_path)))
        assert "sent approve review" in shown(app, MessageLines)
        newer = "20231115-090000-cd34"
        started = ev.RunStarted(run_id=newer, workspace=str(tmp_path), seq=1, at=T0 + 300)
        write_events(RunFiles(tmp_path, newer), [started])
        await until(pilot, lambda: app.snapshot.run_id == newer)
        messages = shown(app, MessageLines)
        assert "approve" not in messages, messages
        assert f"following the new run {newer}" in messages
