"""Pilot tests of the app's keys against a scripted fake engine: every command must reach
the engine (and its inbox) exactly as the user asked, and the app must say what the
engine answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from app_support import (
    NOW,
    T0,
    FakeEngine,
    at_parallel_gate,
    fake_app,
    inbox_commands,
    mid_implement,
    run_async,
    stamped,
    wait_until,
)
from textual.message import Message
from textual.notifications import Notify

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, TaskStatus
from orchestrator_tui.ui.app import feed
from orchestrator_tui.ui.screens.approval import ApprovalScreen
from orchestrator_tui.ui.screens.feedback import FeedbackScreen
from orchestrator_tui.ui.screens.help import HelpScreen
from orchestrator_tui.ui.screens.quit_confirm import QuitScreen
from orchestrator_tui.ui.screens.run_screen import RunScreen
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen
from orchestrator_tui.ui.sink import EngineSink


class Messages:
    """A message_hook that keeps what the app received."""

    def __init__(self) -> None:
        self.seen: list[Message] = []

    def __call__(self, message: Message) -> None:
        self.seen.append(message)

    def notes(self) -> list[tuple[str, str]]:
        return [
            (m.notification.severity, m.notification.message)
            for m in self.seen
            if isinstance(m, Notify)
        ]

    def events(self) -> list[ev.EventBase]:
        return [m.event for m in self.seen if isinstance(m, EngineSink.Event)]


def emit_all(events: list[ev.EventBase]):
    def script(engine: FakeEngine) -> None:
        for event in events:
            engine.emit(event)

    return script


@run_async
async def test_gate_opens_the_modal_and_a_approves(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", emit_all(at_parallel_gate()))
    hook = Messages()
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        markdown = app.screen.body
        assert "Critical path: T1 → T2 → T6 → T7" in markdown
        assert "Cost so far" in markdown
        await pilot.press("a")
        await wait_until(pilot, lambda: bool(engine.submitted()))
        assert isinstance(app.screen, RunScreen)
    assert engine.submitted() == [("approve", "", "", "app")]
    assert [(c["action"], c["by"]) for c in inbox_commands(tmp_path / "ws")] == [("approve", "app")]
    kinds = [e.kind for e in hook.events()]
    assert kinds[-1] == "gate_opened" and "plan_frozen" in kinds


@run_async
async def test_a_on_the_board_reopens_a_dismissed_gate(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(at_parallel_gate()))
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)
        assert engine.submitted() == []
        await pilot.press("a")
        assert isinstance(app.screen, ApprovalScreen)
        await pilot.press("a")
        await pilot.pause()
    assert engine.submitted() == [("approve", "", "", "app")]


@run_async
async def test_reject_sends_multiline_feedback(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(at_parallel_gate()))
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.press("r")
        assert isinstance(app.screen, FeedbackScreen)
        await pilot.press(*"Split T2", "enter", *"into two [tasks]")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
    assert engine.submitted() == [("reject", "", "Split T2\ninto two [tasks]", "app")]
    command = inbox_commands(tmp_path / "ws")[0]
    assert command["action"] == "reject" and command["feedback"] == "Split T2\ninto two [tasks]"


@run_async
async def test_reject_without_feedback_sends_nothing(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(at_parallel_gate()))
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        await pilot.press("escape", "r", "space", "ctrl+s")
        assert isinstance(app.screen, FeedbackScreen)  # still asking
        assert "Write what should change" in str(app.screen.query_one("#problem").render())
        await pilot.press("escape")
        assert isinstance(app.screen, RunScreen)
    assert engine.submitted() == []


@run_async
async def test_no_gate_means_approve_is_refused_locally(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    hook = Messages()
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        feed(app, stamped(mid_implement()))
        await pilot.pause()
        await pilot.press("a", "r")
        await pilot.pause()
        assert isinstance(app.screen, RunScreen)
    assert engine.submitted() == []
    assert ("warning", "Nothing waits for approval.") in hook.notes()


async def select(pilot, app, task_id: str) -> None:
    await wait_until(pilot, lambda: task_id in app.run_screen.tasks.order)
    app.run_screen.tasks.select(task_id)
    await pilot.pause()
    assert app.selected_task == task_id


@run_async
async def test_retry_and_skip_go_to_the_selected_task(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(mid_implement()))
        await select(pilot, app, "T4")
        assert app.state.tasks["T4"].status == TaskStatus.FAILED
        await pilot.press("R")
        await pilot.press("down", "s")  # the cursor moves to T5 (wave 2, after T4)
        await pilot.pause()
    assert engine.submitted() == [("retry", "T4", "", "app"), ("skip", "T5", "", "app")]
    assert [(c["action"], c["task"]) for c in inbox_commands(tmp_path / "ws")] == [
        ("retry", "T4"),
        ("skip", "T5"),
    ]


@run_async
async def test_retry_on_a_failed_gate_retries_the_stage(tmp_path: Path) -> None:
    failed = [
        *at_parallel_gate()[:-3],
        ev.StageFinished(
            stage=StageName.PARALLEL,
            status="failed",
            summary="PLAN.md has 1 problem(s)",
            details="- PLAN.md:3: bad key",
            at=T0 + 15,
        ),
        ev.GateOpened(
            stage=StageName.PARALLEL, failed=True, summary="PLAN.md has 1 problem(s)", at=T0 + 15
        ),
    ]
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, stamped(failed))
        await wait_until(pilot, lambda: isinstance(app.screen, ApprovalScreen))
        assert not app.screen.query("#approve"), "a failed stage cannot be approved"
        await pilot.press("a")  # refused by the modal: nothing sent
        assert isinstance(app.screen, ApprovalScreen)
        await pilot.press("escape", "R")
        await pilot.pause()
    assert engine.submitted() == [("retry", "", "", "app")]


@run_async
async def test_pause_then_resume(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        events = stamped(mid_implement())
        feed(app, events)
        await pilot.pause()
        await pilot.press("p")
        feed(app, [ev.RunPaused(by="app", seq=events[-1].seq + 1, at=NOW)])
        await wait_until(pilot, lambda: app.state.paused)
        header = str(app.run_screen.query_one("#header").render())
        assert "PAUSED" in header
        await pilot.press("p")
        await pilot.pause()
    assert engine.submitted() == [("pause", "", "", "app"), ("resume", "", "", "app")]


@run_async
async def test_engine_answers_become_notifications(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    hook = Messages()
    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        events = stamped(mid_implement())
        last = events[-1].seq
        feed(app, events)
        feed(
            app,
            [
                ev.CommandApplied(
                    command_id="c1",
                    action="skip T9",
                    ok=False,
                    message="no task 'T9' [sic]",
                    seq=last + 1,
                ),
                ev.CommandApplied(
                    command_id="c2",
                    action="pause",
                    ok=True,
                    message="paused: no new stage or task starts",
                    seq=last + 2,
                ),
                ev.PlanReloaded(
                    added=("T8",), removed=("T5",), changed=("T6",), tasks=(), seq=last + 3
                ),
                ev.SystemReloaded(sections=("Stage 4: Implement",), seq=last + 4),
            ],
        )
        await pilot.pause()
    notes = hook.notes()
    assert ("warning", "no task 'T9' [sic]") in notes
    assert ("information", "paused: no new stage or task starts") in notes
    assert ("information", "PLAN.md reloaded: added T8; removed T5; changed T6") in notes
    assert ("information", "CLAUDE.md reloaded; changed: Stage 4: Implement") in notes


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
        assert app.run_screen.tasks.order[0] == "T1"
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
