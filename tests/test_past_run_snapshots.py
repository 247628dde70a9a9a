"""Pictures of the past-runs screens: the list, a finished run at its end, the same run on
its timeline at the test gate it waited at. Times are shown in UTC (TZ is set), the runs
are recorded (tests/runs_support.py), so the pictures are the same on every machine."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest
from app_support import wait_until
from runs_support import OLD_RUN, two_runs

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName
from orchestrator_tui.ui.past_runs import load_past_run
from orchestrator_tui.ui.runs_app import RunsApp
from orchestrator_tui.ui.screens.event_list import EventListScreen
from orchestrator_tui.ui.screens.past_run import PastRunScreen
from orchestrator_tui.ui.screens.runs_list import RunsScreen

SIZE = (120, 32)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def recorded(workspace: Path) -> None:
    old, _new = two_runs(workspace)
    log = old.log("T6")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("▸ Read docs/users.md\n▸ Write docs/users.md\nDocumented the user API.\n")


def test_runs_list(snap_compare) -> None:
    # The list's title names the workspace: a fixed path, not tmp_path, for a stable picture.
    workspace = Path(tempfile.gettempdir()) / "orchestrator-tui-pictures" / "shop"
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    recorded(workspace)

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.runs)
        await pilot.pause()

    assert snap_compare(RunsApp(workspace), terminal_size=SIZE, run_before=run_before)
    shutil.rmtree(workspace, ignore_errors=True)


def test_past_run_at_its_end(snap_compare, tmp_path: Path) -> None:
    recorded(tmp_path)

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: isinstance(app.screen, PastRunScreen))
        app.screen.select("T6")
        await wait_until(pilot, lambda: app.screen.logs.active == "T6")
        await pilot.pause()

    app = RunsApp(tmp_path, load_past_run(tmp_path, OLD_RUN))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_past_run_on_its_timeline_at_the_test_gate(snap_compare, tmp_path: Path) -> None:
    recorded(tmp_path)
    past = load_past_run(tmp_path, OLD_RUN)
    gate = next(
        n
        for n, e in enumerate(past.timeline.events, 1)
        if isinstance(e, ev.GateOpened) and e.stage == StageName.TEST
    )

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: isinstance(app.screen, PastRunScreen))
        app.screen.go(gate)
        await pilot.pause()

    assert snap_compare(RunsApp(tmp_path, past), terminal_size=SIZE, run_before=run_before)


def test_event_list(snap_compare, tmp_path: Path) -> None:
    """`L`: every event of the run, the cursor on where the timeline stands (the end)."""
    recorded(tmp_path)

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: isinstance(app.screen, PastRunScreen))
        await pilot.press("L")
        await wait_until(pilot, lambda: isinstance(app.screen, EventListScreen))
        await pilot.pause()

    app = RunsApp(tmp_path, load_past_run(tmp_path, OLD_RUN))
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
