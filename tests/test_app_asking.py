"""The app's side of the permission queue: the banner ("T3 waits for you: Bash `pytest -q`"),
the queue view (`w`) and its keys — allow once, allow for the session, deny with a
reason — and say (`m`) / interrupt (`i`) for the selected task; pictures of two waiting
requests."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import (
    NOW,
    T0,
    fake_app,
    inbox_commands,
    mid_implement,
    run_async,
    stamped,
    wait_until,
)

from orchestrator_tui.core import events as ev
from orchestrator_tui.ui.app import feed
from orchestrator_tui.ui.screens.permissions import LineInputScreen, PermissionsScreen
from orchestrator_tui.ui.widgets.agent_logs import NOTE_DELAY
from orchestrator_tui.ui.widgets.asking_banner import AskingBanner

pytestmark = pytest.mark.timeout(60)


DIFF = "+import secrets\n+\n+def new_token() -> str:\n+    return secrets.token_hex(16)"


def two_waiting() -> list[ev.EventBase]:
    """Mid-implement, T2 asks to run pytest, then T3 to write a file (with its diff)."""
    return [
        *mid_implement(),
        ev.PermissionAsked(
            request_id="P1",
            task="T2",
            tool="Bash",
            summary="pytest -q tests/test_login.py",
            at=NOW - 40,
        ),
        ev.PermissionAsked(
            request_id="P2",
            task="T3",
            tool="Write",
            summary="src/auth/tokens.py",
            detail=DIFF,
            at=NOW - 12,
        ),
    ]


async def fed(pilot, events: list[ev.EventBase]) -> list[ev.EventBase]:
    app = pilot.app
    recorded = stamped(events)
    await wait_until(pilot, lambda: app.sink.connected)
    feed(app, recorded)
    await wait_until(pilot, lambda: app.state.last_seq == recorded[-1].seq)
    return recorded


@run_async
async def test_the_banner_names_each_waiting_request_and_w_opens_the_queue(
    tmp_path: Path,
) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await fed(pilot, two_waiting())
        await wait_until(pilot, lambda: app.run_screen.query(AskingBanner))
        banner = app.run_screen.query_one(AskingBanner)
        await wait_until(pilot, lambda: banner.display)
        assert banner.shown == (
            "T2 waits for you: Bash `pytest -q tests/test_login.py` (P1)",
            "T3 waits for you: Write `src/auth/tokens.py` (P2)",
        )
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionsScreen))
        screen = app.screen
        assert [p.id for p in screen.queue] == ["P1", "P2"]


@run_async
async def test_the_keys_allow_once_allow_for_the_session_and_deny_with_a_reason(
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "ws"
    app, engine = fake_app(workspace, start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await fed(pilot, two_waiting())
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionsScreen))
        await pilot.press("y")  # P1 once; the cursor moves on to P2
        await wait_until(pilot, lambda: len(engine.submitted()) == 1)
        await pilot.press("a")  # P2 for the session
        await wait_until(pilot, lambda: len(engine.submitted()) == 2)
        await pilot.press("up", "n")  # back to P1: deny it with a reason
        await wait_until(pilot, lambda: isinstance(app.screen, LineInputScreen))
        await pilot.press(*"not in CI", "enter")
        await wait_until(pilot, lambda: len(engine.submitted()) == 3)
    assert engine.submitted() == [
        ("allow", "P1", "", "app"),
        ("allow_session", "P2", "", "app"),
        ("deny", "P1", "not in CI", "app"),
    ]
    assert [(c["action"], c["task"], c["by"]) for c in inbox_commands(workspace)][:1] == [
        ("allow", "P1", "app")
    ]


@run_async
async def test_an_answer_from_elsewhere_takes_the_request_off_the_queue(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        recorded = await fed(pilot, two_waiting())
        await pilot.press("w")
        await wait_until(pilot, lambda: isinstance(app.screen, PermissionsScreen))
        seq = recorded[-1].seq
        feed(
            app,
            [
                ev.PermissionAnswered(
                    request_id="P1", task="T2", decision="allow", by="monitor", seq=seq + 1
                )
            ],
        )
        screen = app.screen
        await wait_until(pilot, lambda: [p.id for p in screen.queue] == ["P2"])
        banner = app.run_screen.query_one(AskingBanner)
        assert banner.shown == ("T3 waits for you: Write `src/auth/tokens.py` (P2)",)


@run_async
async def test_say_and_interrupt_go_to_the_selected_task(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await fed(pilot, mid_implement())
        app.run_screen.select("T2")
        await pilot.pause()
        await pilot.press("m")
        await wait_until(pilot, lambda: isinstance(app.screen, LineInputScreen))
        await pilot.press(*"use utils.py", "enter")
        await wait_until(pilot, lambda: len(engine.submitted()) == 1)
        await pilot.press("i")
        await wait_until(pilot, lambda: len(engine.submitted()) == 2)
    assert engine.submitted() == [
        ("say", "T2", "use utils.py", "app"),
        ("interrupt", "T2", "", "app"),
    ]


def prepared(open_queue: bool):
    async def run_before(pilot) -> None:
        app = pilot.app
        await fed(pilot, two_waiting())
        app.run_screen.select("T2")
        await pilot.pause(NOTE_DELAY + 0.05)
        app.run_screen.logs.flush()
        app.clear_notifications()  # the toasts under the queue are not redrawn there
        await pilot.pause()
        if open_queue:
            await pilot.press("w")
            await wait_until(pilot, lambda: isinstance(app.screen, PermissionsScreen))
            await pilot.press("down")  # P2: its diff shows
        app.clear_notifications()
        await pilot.pause()

    return run_before


def test_picture_of_the_board_with_two_requests_waiting(snap_compare, tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=prepared(False))


def test_picture_of_the_queue_with_two_requests_waiting(snap_compare, tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=prepared(True))


assert T0  # the recorded runs' clock (app_support)
