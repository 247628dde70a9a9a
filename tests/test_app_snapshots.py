"""Pictures of the app, compared with the committed SVGs in __snapshots__/.

Each picture is made from a recorded list of events fed to the app (no live engine),
with a frozen clock, no animation and no cursor blink, so it is the same on every
machine. Review a changed picture as a picture before `--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from app_support import (
    at_parallel_gate,
    fake_app,
    invalid_plan_reload,
    mid_implement,
    stamped,
    wait_until,
)

from orchestrator_tui.core import events as ev
from orchestrator_tui.ui.app import feed
from orchestrator_tui.ui.screens.approval import ApprovalScreen
from orchestrator_tui.ui.widgets.agent_logs import NOTE_DELAY


def prepared(events: list[ev.EventBase], select: str = "", modal: bool = False) -> Callable:
    """run_before for snap_compare: feed, settle, pick a task, draw the logs."""
    recorded = stamped(events)

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.sink.connected)  # the app has read its engine
        feed(app, recorded)
        await wait_until(pilot, lambda: app.state.last_seq == recorded[-1].seq)
        if modal:
            await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        if select:
            app.run_screen.select(select)
        await pilot.pause(NOTE_DELAY + 0.05)  # the notes that end a task's output are due
        app.run_screen.logs.flush()
        app.clear_notifications()  # toasts time out: not part of a stable picture
        await pilot.pause()

    return run_before


def test_board_mid_run(snap_compare, tmp_path: Path) -> None:
    """Implement running: T1 done, T2 and T3 running, T4 failed, T6 blocked; T2's log."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=prepared(mid_implement(), "T2"))


def test_approval_modal(snap_compare, tmp_path: Path) -> None:
    """The parallel stage waits: its schedule, the critical path, the cost so far."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(
        app, terminal_size=(120, 40), run_before=prepared(at_parallel_gate(), modal=True)
    )


def test_failed_task(snap_compare, tmp_path: Path) -> None:
    """T4 selected: failed, its error line highlighted in its log."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=prepared(mid_implement(), "T4"))


def test_invalid_plan_banner(snap_compare, tmp_path: Path) -> None:
    """A bad PLAN.md edit: the banner names the line; the last good plan stays."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(
        app, terminal_size=(120, 40), run_before=prepared(invalid_plan_reload(), "T2")
    )


@pytest.mark.parametrize("size", [(80, 24), (40, 10)])
def test_small_terminals(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    """80×24 stacks the panes; 40×10 keeps the essentials."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(app, terminal_size=size, run_before=prepared(mid_implement(), "T2"))
