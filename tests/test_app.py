"""Pilot tests of the app's keys against a scripted fake engine: every command must reach
the engine (and its inbox) exactly as the user asked, and the app must say what the
engine answered."""

from __future__ import annotations

from pathlib import Path

from app_support import (
    NOW,
    T0,
    Messages,
    at_parallel_gate,
    emit_all,
    fake_app,
    inbox_commands,
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
from orchestrator_tui.ui.screens.feedback import FeedbackScreen
from orchestrator_tui.ui.screens.run_screen import RunScreen


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
        # The modal takes keys once it is mounted (its body has the focus).
        await wait_until(
            pilot, lambda: isinstance(app.screen, ApprovalScreen) and app.screen.focused
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))
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
