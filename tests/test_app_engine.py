"""The app on the real engine (simulated agents, real inbox, real watcher): approvals reach
the engine through the inbox, a PLAN.md edit on disk redraws the DAG pane, an invalid
edit shows the banner while the last good plan stays, quit leaves the run resumable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app_support import options_for, run_async, sim_config, wait_until

from orchestrator_tui.core.events import load_event
from orchestrator_tui.core.models import StageName, StageStatus, TaskStatus
from orchestrator_tui.infra.session import LockInfo, lock_path, read_lock
from orchestrator_tui.infra.store import latest_run_id, runs_dir
from orchestrator_tui.ui.app import create_app, run_app
from orchestrator_tui.ui.screens.approval import ApprovalScreen
from orchestrator_tui.ui.screens.document import DocumentScreen
from orchestrator_tui.ui.screens.quit_confirm import QuitScreen

PLAN = """\
# Plan: Diamond

## A: Base
depends: none
files: a.py

## B: Left
depends: A
files: b.py

## C: Right
depends: A
files: c.py

## D: Join
depends: B, C
files: d.py
"""


def workspace(tmp_path: Path, plan: str = PLAN) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "PLAN.md").write_text(plan, encoding="utf-8")
    return root


def logged(root: Path) -> list:
    run = latest_run_id(root)
    assert run is not None
    lines = (runs_dir(root) / run / "events.jsonl").read_text().splitlines()
    return [e for e in map(load_event, lines) if e is not None]


@run_async
async def test_approve_through_the_inbox_quit_and_resume(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    app = create_app(options_for(root), animations=False)
    app.handle.open()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen), timeout=15)
        assert app.screen.stage == StageName.PLAN
        await pilot.press("a")  # plan
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, ApprovalScreen) and app.screen.stage == "parallel",
            timeout=15,
        )
        await pilot.press("a")  # parallel: the tasks start
        await wait_until(pilot, lambda: app.state.stages[StageName.IMPLEMENT].attempt == 1)
        await wait_until(
            pilot, lambda: app.run_screen.logs.lines_received > 0, timeout=15
        )  # agent output reached a pane
        await pilot.press("q")
        if isinstance(app.screen, QuitScreen):  # agents were still running
            await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, timeout=20)
    app.shutdown_engine()
    decided = [(e.stage, e.decision, e.by) for e in logged(root) if e.kind == "gate_decided"]
    assert ("plan", "approve", "app") in decided
    assert ("parallel", "approve", "app") in decided
    assert read_lock(root) is None, "the lock is released on quit"
    assert app.exit_code() == 130  # later gates wait for approval: the run cannot finish

    # Resume: a new app on the same workspace picks the run up where it stopped.
    again = create_app(options_for(root), animations=False)
    again.handle.open()
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: again.state.run_id == app.state.run_id)
        assert again.state.stages[StageName.PLAN].status == StageStatus.APPROVED
        assert set(again.state.tasks) == {"A", "B", "C", "D"}
        await pilot.press("ctrl+q")
        if isinstance(again.screen, QuitScreen):
            await pilot.press("y")
        await wait_until(pilot, lambda: not again.is_running, timeout=20)
    again.shutdown_engine()
    assert any(e.kind == "run_started" and e.resumed for e in logged(root))


@run_async
async def test_editing_plan_md_redraws_the_dag_and_a_bad_edit_shows_the_banner(
    tmp_path: Path,
) -> None:
    root = workspace(tmp_path)
    app = create_app(options_for(root), animations=False)
    app.handle.open()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.state.gate is not None, timeout=15)
        app.run_screen.action_toggle_dag()  # the wave table
        table = app.run_screen.tasks
        assert table.order == ("A", "B", "C", "D")
        time.sleep(0.1)  # let the watcher settle on its directory

        (root / "PLAN.md").write_text(
            PLAN + "\n## E: Extra\ndepends: D\nfiles: e.py\n", encoding="utf-8"
        )
        await wait_until(pilot, lambda: "E" in table.order, timeout=10)
        assert table.dag_layout.wave_of["E"] == 3
        assert "E" in table.dag_layout.critical

        (root / "PLAN.md").write_text(PLAN + "\n## F: Broken\ndepends: Z9\n", encoding="utf-8")
        await wait_until(pilot, lambda: bool(app.state.plan_error), timeout=10)
        banner = str(app.run_screen.alerts.render())
        assert "PLAN.md is invalid" in banner and "Z9" in banner
        broken_line = (PLAN + "\n").count("\n") + 1  # where "## F: Broken" starts
        assert f"PLAN.md:{broken_line}:" in banner, banner  # the error names its line
        assert "E" in table.order and "F" not in table.order  # the last good plan stays

        (root / "PLAN.md").write_text(PLAN, encoding="utf-8")
        await wait_until(pilot, lambda: not app.state.plan_error, timeout=10)
        await wait_until(pilot, lambda: "E" not in table.order, timeout=10)
        assert not app.run_screen.alerts.display
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: not app.is_running, timeout=20)
    app.shutdown_engine()


def test_run_app_refuses_a_workspace_another_orchestrator_holds(tmp_path: Path, capsys) -> None:
    root = workspace(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock_path(root).parent.mkdir(parents=True, exist_ok=True)
        info = LockInfo(
            pid=holder.pid,
            host=os.uname().nodename,
            run_id="other",
            started_at=time.time(),
            heartbeat_at=time.time(),
        )
        lock_path(root).write_text(info.model_dump_json())
        assert run_app(options_for(root)) == 3
    finally:
        holder.kill()
        holder.wait(timeout=10)
    err = capsys.readouterr().err
    assert f"pid {holder.pid}" in err and "monitor" in err


@run_async
async def test_a_failing_task_is_shown_and_retry_reaches_the_engine(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    (root / "sim.toml").write_text("[tasks.A]\nfail_attempts = 9\n", encoding="utf-8")
    config = sim_config(script="sim.toml", retries=0)
    app = create_app(
        options_for(root, approve=frozenset(StageName), config=config), animations=False
    )
    app.handle.open()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot,
            lambda: app.state.gate is not None and app.state.gate.stage == StageName.IMPLEMENT,
            timeout=20,
        )
        assert app.state.tasks["A"].status == TaskStatus.FAILED
        assert app.state.tasks["B"].status == TaskStatus.BLOCKED
        while isinstance(app.screen, ApprovalScreen):
            await pilot.press("escape")
        app.run_screen.select("A")
        await pilot.pause()
        await pilot.press("R")
        await wait_until(
            pilot,
            lambda: any(e.kind == "task_reset" and e.task == "A" for e in logged(root)),
            timeout=10,
        )
        await pilot.press("ctrl+q")
        if isinstance(app.screen, QuitScreen):
            await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, timeout=20)
    app.shutdown_engine()


@run_async
async def test_a_finished_run_shows_its_summary(tmp_path: Path) -> None:
    root = workspace(tmp_path)
    app = create_app(options_for(root, approve=frozenset(StageName)), animations=False)
    app.handle.open()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.state.outcome == "complete", timeout=60)
        await wait_until(pilot, lambda: isinstance(app.screen, DocumentScreen), timeout=5)
        assert "summary" in app.screen.title_text
        assert app.screen.markdown == (runs_dir(root) / app.state.run_id / "summary.md").read_text()
        await pilot.press("escape", "q")
        await wait_until(pilot, lambda: not app.is_running, timeout=20)
    app.shutdown_engine()
    assert app.exit_code() == 0
