"""Pilot tests of quitting, the dialogs and screens, a dying engine, the command palette
and terminal sizes, against a scripted fake engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from app_support import (
    T0,
    FakeEngine,
    Messages,
    at_parallel_gate,
    emit_all,
    fake_app,
    mid_implement,
    run_async,
    select,
    stamped,
    wait_until,
)

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, TaskStatus
from orchestrator_tui.ui.app import feed
from orchestrator_tui.ui.screens.approval import ApprovalScreen
from orchestrator_tui.ui.screens.help import HelpScreen
from orchestrator_tui.ui.screens.quit_confirm import QuitScreen
from orchestrator_tui.ui.screens.run_screen import RunScreen
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen


@run_async
async def test_quit_with_running_agents_asks_first(tmp_path: Path) -> None:
    running = [e for e in mid_implement() if not isinstance(e, ev.TaskOutput)]
    app, engine = fake_app(tmp_path / "ws", emit_all(running))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(
            pilot,
            lambda: (
                app.state.tasks.get("T3") is not None
                and app.state.tasks["T3"].status == TaskStatus.RUNNING
            ),
        )
        while isinstance(app.screen, ApprovalScreen):
            await pilot.press("escape")
        await pilot.press("q")
        assert isinstance(app.screen, QuitScreen)
        await pilot.press("n")  # keep going
        assert isinstance(app.screen, RunScreen)
        assert ("stop",) not in engine.calls
        await pilot.press("q")
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.is_running, timeout=5)
    assert ("stop",) in engine.calls
    app.shutdown_engine()
    assert app.exit_code() == 130  # stopped, resumable


@run_async
async def test_quit_when_idle_does_not_ask(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", emit_all(stamped(at_parallel_gate())[:3]))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state.run_id != "")
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)
    assert ("stop",) in engine.calls


@run_async
async def test_an_engine_that_dies_leaves_the_app_up(tmp_path: Path) -> None:
    def crash(engine: FakeEngine) -> None:
        engine.emit(ev.RunStarted(run_id="r1", workspace=str(tmp_path), at=T0))
        raise RuntimeError("disk on fire")

    app, _engine = fake_app(tmp_path / "ws", crash, hold=False)
    hook = Messages()
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await wait_until(pilot, lambda: bool(app.engine_failure))
        assert app.is_running
        banner = str(app.run_screen.query_one("#alerts").render())
        assert "RuntimeError: disk on fire" in banner
        assert any("disk on fire" in text for _sev, text in hook.notes())
        await pilot.press("p")  # nothing can take it: said so, not sent
        await pilot.pause()
        assert any("engine has stopped" in text for _sev, text in hook.notes())
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)
    assert app.exit_code() == 1


@run_async
async def test_enter_opens_the_task_detail_and_d_the_diff(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    app, _engine = fake_app(workspace, start_engine=False)
    log = workspace / ".orchestrator" / "runs" / "20231114-221320-ab12" / "logs" / "T2.log"
    log.parent.mkdir(parents=True)
    log.write_text("first line\n\x1b]0;evil title\x07second \x1b[2Jline\n")
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(mid_implement()))
        await select(pilot, app, "T2")
        await pilot.press("enter")
        assert isinstance(app.screen, TaskDetailScreen)
        overview = app.screen.overview()
        assert "src/api/users.py" in overview and "T1" in overview
        lines = app.screen.log_lines()
        assert lines[1:] == ["first line", "second line"]
        await pilot.press("escape", "d")
        assert isinstance(app.screen, TaskDetailScreen)
        await wait_until(
            pilot,
            lambda: (
                "no diff available"
                in " ".join(strip.text for strip in app.screen.query_one("#diff-text").lines)
            ),
        )
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)


@run_async
async def test_palette_offers_the_same_actions(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(mid_implement()))
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.press(*"pause or resume")
        await asyncio.sleep(0.3)  # the palette searches in the background
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(engine.submitted()))
    assert engine.submitted() == [("pause", "", "", "app")]


@pytest.mark.parametrize("size", [(40, 10), (80, 24), (120, 40)])
@run_async
async def test_small_and_large_terminals_keep_working(tmp_path: Path, size) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=size) as pilot:
        feed(app, stamped(mid_implement()))
        await pilot.pause()
        app.run_screen.logs.flush()
        await pilot.pause()
        await select(pilot, app, "T4")
        await pilot.press("R")
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        await pilot.resize_terminal(*size)
        await pilot.pause()
        assert app.selected_task == "T4"
        app.run_screen.action_toggle_dag()  # the wave table, on the same task
        assert app.run_screen.tasks.order[0] == "T1" and app.selected_task == "T4"
    assert engine.submitted() == [("retry", "T4", "", "app")]


@run_async
async def test_a_gate_never_covers_the_quit_dialog(tmp_path: Path) -> None:
    running = [e for e in mid_implement() if not isinstance(e, ev.TaskOutput)]
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        events = stamped(running)
        feed(app, events)
        await wait_until(pilot, lambda: app.state.last_seq == events[-1].seq)
        app.push_screen(QuitScreen(2))
        await pilot.pause()
        feed(
            app,
            [ev.GateOpened(stage=StageName.IMPLEMENT, summary="6 done", seq=events[-1].seq + 1)],
        )
        await wait_until(pilot, lambda: app.state.gate is not None)
        await pilot.pause()
        assert isinstance(app.screen, QuitScreen), "the approval must wait for the answer"
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        assert app.screen.stage == StageName.IMPLEMENT
    assert engine.submitted() == []


@run_async
async def test_however_the_app_ends_the_engine_is_told_to_stop(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", emit_all(stamped(at_parallel_gate())[:3]))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.state.run_id != "")
        app.exit()  # not through q: an error path, a test, the terminal closing
    assert ("stop",) in engine.calls
    app.shutdown_engine()
    assert not app.engine_thread.alive


@run_async
async def test_the_log_follows_its_end_until_the_user_scrolls_up(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        events = stamped(mid_implement())
        feed(app, events)
        await select(pilot, app, "T2")
        logs = app.run_screen.logs
        await wait_until(pilot, lambda: logs.active == "T2")
        feed(app, [ev.TaskOutput(task="T2", lines=tuple(f"line {n}" for n in range(300)))])
        await wait_until(pilot, lambda: logs.newest_line() == "line 299")
        logs.flush()
        view = logs.view
        await wait_until(pilot, lambda: view.scroll_offset.y == view.max_scroll_y > 0)
        assert view.following
        view.focus()
        await pilot.press("home")  # the user scrolls up: the view stays where they are
        await wait_until(pilot, lambda: view.scroll_offset.y == 0)
        assert not view.following
        feed(app, [ev.TaskOutput(task="T2", lines=("line 300",))])
        await wait_until(pilot, lambda: logs.newest_line() == "line 300")
        logs.flush()
        await pilot.pause()
        assert view.scroll_offset.y == 0 and view.first_line() == 0
        await pilot.press("end")  # back at the end: it follows again
        await wait_until(pilot, lambda: view.following)
        feed(app, [ev.TaskOutput(task="T2", lines=("line 301",))])
        await wait_until(pilot, lambda: logs.newest_line() == "line 301")
        logs.flush()
        await wait_until(pilot, lambda: view.scroll_offset.y == view.max_scroll_y)
        assert view.text_at(len(view.lines) - 1) == "line 301"
