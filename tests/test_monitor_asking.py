"""The monitor answers the permission queue too: the oldest waiting request is shown, `y`
allows it, `Y` allows it for the agent's session, `n` denies it with a reason; the bell
rings when a request starts to wait."""

from __future__ import annotations

from pathlib import Path

import pytest
from monitor_support import NOW, RUN_ID, implementing, stamped, write_events, write_lock
from test_monitor import SIZE, inbox, monitor, run_async, shown, until

from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.store import RunFiles
from orchestrator_tui.monitor.widgets.asking_box import AskingBox
from orchestrator_tui.monitor.widgets.feedback_dialog import FeedbackDialog

pytestmark = pytest.mark.timeout(60)


def asked(request_id: str, task: str, summary: str, at: float) -> ev.PermissionAsked:
    return ev.PermissionAsked(request_id=request_id, task=task, tool="Bash", summary=summary, at=at)


def two_waiting(workspace: Path) -> RunFiles:
    files = RunFiles(workspace, RUN_ID)
    events = [*implementing(), asked("P1", "T2", "pytest -q", NOW - 30)]
    events.append(asked("P2", "T3", "ruff check .", NOW - 10))
    write_events(files, stamped(events))
    write_lock(workspace, heartbeat_at=NOW - 1)
    return files


@run_async
async def test_the_oldest_request_is_shown_and_y_allows_it(tmp_path: Path) -> None:
    two_waiting(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        text = shown(app, AskingBox)
        assert "T2 waits for you (P1)" in text and "Bash `pytest -q`" in text
        assert "+1 more waiting" in text
        await pilot.press("y")
        [command] = inbox(tmp_path)
        assert (command.action, command.task, command.by) == ("allow", "P1", "monitor")


@run_async
async def test_shift_y_allows_for_the_session_and_n_denies_with_a_reason(tmp_path: Path) -> None:
    files = two_waiting(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("Y")
        answered = ev.PermissionAnswered(
            request_id="P1", task="T2", decision="allow_session", by="monitor", seq=900, at=NOW
        )
        write_events(files, [answered])
        await until(pilot, lambda: "T3 waits for you (P2)" in shown(app, AskingBox))
        await pilot.press("n")
        assert isinstance(app.screen, FeedbackDialog)
        await pilot.press(*"not in CI", "enter")
        assert not isinstance(app.screen, FeedbackDialog)
        commands = [(c.action, c.task, c.feedback) for c in inbox(tmp_path)]
        assert commands == [("allow_session", "P1", ""), ("deny", "P2", "not in CI")]
        write_events(
            files,
            [ev.PermissionAnswered(request_id="P2", decision="deny", by="monitor", seq=901)],
        )
        await until(pilot, lambda: not app.query_one(AskingBox).display)


@run_async
async def test_a_new_request_rings_the_bell(tmp_path: Path) -> None:
    files = RunFiles(tmp_path, RUN_ID)
    write_events(files, stamped(implementing()))
    write_lock(tmp_path, heartbeat_at=NOW - 1)
    app = monitor(tmp_path)
    rang: list[bool] = []
    app.bell = lambda: rang.append(True)  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        assert not app.query_one(AskingBox).display
        write_events(files, [asked("P1", "T2", "pytest -q", NOW).model_copy(update={"seq": 500})])
        await until(pilot, lambda: app.query_one(AskingBox).display)
        assert rang
