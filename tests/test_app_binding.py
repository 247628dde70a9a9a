"""The run screen holds the folded state, the clock and the plan view as reactive data,
and its widgets read them (issue 11 item 7): setting them is all it takes to change the
picture — the app never calls a draw method."""

from __future__ import annotations

from pathlib import Path

from app_support import NOW, fake_app, mid_implement, run_async, stamped, wait_until

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.state import RunState, apply
from orchestrator_tui.ui.plan_view import PlanView
from orchestrator_tui.ui.screens.run_screen import RunScreen


def folded(events: list[ev.EventBase]) -> RunState:
    state = RunState()
    for event in stamped(events):
        state = apply(state, event)
    return state


@run_async
async def test_the_widgets_read_the_state_and_the_clock_the_screen_holds(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.run_screen
        assert isinstance(screen, RunScreen)
        screen.action_toggle_dag()  # the wave table (the graph reads the same: test_app_graph)
        state = folded(mid_implement())
        frozen = next(e for e in mid_implement() if isinstance(e, ev.PlanFrozen))
        screen.plan = PlanView().frozen(frozen, state)
        screen.now = NOW
        screen.state = state  # no event, no app method: the screen's data only
        await pilot.pause()
        table, header, board = screen.tasks, screen.header, screen.board
        assert table.rendered["T1"]["status"] == "✓ done"
        assert table.rendered["T2"]["status"].endswith("running")
        assert table.border_title.startswith("Tasks 1/")
        assert "Implement · 2 running" in header.render().plain
        assert "▶ 4 Implement" in board.render().plain
        elapsed = table.rendered["T2"]["time"]
        # The clock alone moves the running task's time on (at once: the app's own tick
        # sets the frozen clock back within a second).
        screen.now = NOW + 60
        assert table.rendered["T2"]["time"] != elapsed
        assert table.rendered["T1"]["time"] == "20s"  # a finished task's time stays
        screen.engine_failure = "the engine stopped: boom"
        await pilot.pause()
        assert "engine stopped" in header.render().plain
        assert screen.alerts.display and "boom" in str(screen.alerts.render())


@run_async
async def test_the_app_folds_events_into_the_screen_state(tmp_path: Path) -> None:
    """app.state is the screen's state: one place holds it."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        from orchestrator_tui.ui.app import feed

        recorded = stamped(mid_implement())
        feed(app, recorded)
        await wait_until(pilot, lambda: app.state.last_seq == recorded[-1].seq)
        assert app.run_screen.state is app.state
        assert app.run_screen.plan.layout.critical
