"""The past-runs screens: the list (`H` in the app, `orchestrator-tui runs --open`), a run
opened read-only with its board, tasks, logs and summary, and the timeline's keys."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from app_support import RUN_ID, Messages, fake_app, run_async, wait_until
from runs_support import OLD_RUN, finished_run, hold_lock, two_runs, write_run
from textual.widgets import OptionList
from textual.widgets._footer import FooterKey

from orchestrator_tui.commands import runs as runs_command
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, StageStatus, TaskStatus
from orchestrator_tui.ui.past_runs import UnknownRun, load_past_run, resolve_run_id
from orchestrator_tui.ui.runs_app import RunsApp
from orchestrator_tui.ui.screens.document import DocumentScreen
from orchestrator_tui.ui.screens.event_list import EventListScreen, event_line
from orchestrator_tui.ui.screens.past_run import PastRunScreen
from orchestrator_tui.ui.screens.run_screen import RunScreen
from orchestrator_tui.ui.screens.runs_list import RunsScreen
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen
from orchestrator_tui.ui.widgets.timeline_bar import TimelineBar

SIZE = (130, 36)


async def listed(pilot, app) -> RunsScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen) and app.screen.runs)
    return app.screen


async def opened(pilot, app) -> PastRunScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, PastRunScreen))
    await pilot.pause()
    return app.screen


@run_async
async def test_the_list_shows_each_run_newest_first(tmp_path: Path) -> None:
    two_runs(tmp_path)
    app = RunsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await listed(pilot, app)
        table = screen.table
        assert [table.get_row_at(n)[0] for n in range(table.row_count)] == [RUN_ID, OLD_RUN]
        old = table.get_row_at(1)
        assert old[3:8] == [
            "complete",
            "6/7",
            "41 passed, 2 failed",
            "3 (1 high, 2 low)",
            "$0.6000",
        ]
        assert table.get_row_at(0)[3] == "stopped · implement"
        note = str(screen.note.render())
        assert "the engine is not running" in note  # the selected (newest) run's reason


@run_async
async def test_enter_opens_a_run_as_it_ended_and_the_timeline_steps_back(tmp_path: Path) -> None:
    two_runs(tmp_path)
    app = RunsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await listed(pilot, app)
        await pilot.press("down", "enter")
        screen = await opened(pilot, app)
        assert screen.past.run_id == OLD_RUN
        assert screen.position == screen.timeline.end
        assert screen.state.outcome == "complete"
        assert all(s.status != StageStatus.PENDING for s in screen.state.stages.values())
        assert "complete" in screen.header.render().plain
        # back to the test gate, where the run waited for a decision
        while screen.state.gate is None or screen.state.gate.stage != StageName.TEST:
            before = screen.position
            await pilot.press("less_than_sign")
            assert screen.position < before, "the jumps went past the test gate"
        assert screen.state.outcome == ""
        assert screen.state.stages[StageName.CLEANUP].status == StageStatus.PENDING
        assert "Test" in screen.header.render().plain
        assert "Test failed, waits for a decision" in screen.bar.render().plain
        at_gate = screen.position
        await pilot.press("left")
        assert screen.position == at_gate - 1
        await pilot.press("right", "right")
        assert screen.position == at_gate + 1
        await pilot.press("B")
        assert screen.position == 0 and not screen.state.tasks
        await pilot.press("E")
        assert screen.position == screen.timeline.end
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running)


@run_async
async def test_the_clock_of_a_moment_is_the_time_of_its_event(tmp_path: Path) -> None:
    """A task running at that moment shows how long it had run then."""
    write_run(tmp_path, OLD_RUN, finished_run())
    past = load_past_run(tmp_path, OLD_RUN)
    started = next(
        n
        for n, e in enumerate(past.timeline.events, 1)
        if isinstance(e, ev.TaskStarted) and e.task == "T2"
    )
    app = RunsApp(tmp_path, past)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        await pilot.press("g")  # the wave table, with its Time column
        screen.go(started + 1)  # T2's usage: it started 0 s before
        await pilot.pause()
        assert screen.state.tasks["T2"].status == TaskStatus.RUNNING
        assert screen.now == past.timeline.events[started].at
        assert screen.tasks.rendered["T2"]["time"] == "0s"
        assert screen.tasks.rendered["T3"]["status"].endswith("pending")


@run_async
async def test_a_stopped_run_ends_with_nothing_running(tmp_path: Path) -> None:
    """The newest run stopped mid-implement (its engine quit): at its end no task runs
    (settled), one event earlier the log's T2 and T3 were still running."""
    two_runs(tmp_path)
    app = RunsApp(tmp_path, load_past_run(tmp_path, RUN_ID))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        running = [t for t in screen.state.tasks.values() if t.status == TaskStatus.RUNNING]
        assert running == []
        assert "stopped" in str(screen.title_line.render())
        await pilot.press("left")
        running = [t.id for t in screen.state.tasks.values() if t.status == TaskStatus.RUNNING]
        assert running == ["T2", "T3"]


@run_async
async def test_summary_logs_and_detail_as_the_run_left_them(tmp_path: Path) -> None:
    files = write_run(tmp_path, OLD_RUN, finished_run())
    (files.dir / "summary.md").write_text("# textkit 0.2\n\nRun took 3 min; **ready**.\n")
    log = files.log("T3")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("▸ Read src/web/login.py\nall done in T3\n")
    app = RunsApp(tmp_path, load_past_run(tmp_path, OLD_RUN))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        screen.select("T3")
        await wait_until(pilot, lambda: screen.logs.active == "T3")
        assert screen.logs.newest_line() == "all done in T3"
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, DocumentScreen))
        assert "ready" in app.screen.markdown and OLD_RUN in app.screen.title_text
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskDetailScreen))
        assert app.screen.task_state.id == "T3"
        assert app.screen.files.log == log


@run_async
async def test_no_summary_says_why(tmp_path: Path) -> None:
    two_runs(tmp_path)
    app = RunsApp(tmp_path, load_past_run(tmp_path, RUN_ID))
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot, app)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, DocumentScreen))
        assert "did not reach the Complete stage" in app.screen.markdown


@run_async
async def test_a_click_on_the_track_moves_there(tmp_path: Path) -> None:
    write_run(tmp_path, OLD_RUN, finished_run())
    app = RunsApp(tmp_path, load_past_run(tmp_path, OLD_RUN))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        await pilot.click(TimelineBar, offset=(0, 0))
        await wait_until(pilot, lambda: screen.position == 0)
        middle = screen.bar.size.width // 2
        await pilot.click(TimelineBar, offset=(middle, 0))
        await wait_until(pilot, lambda: 0 < screen.position < screen.timeline.end)


@run_async
async def test_from_the_app_H_lists_the_runs_and_a_past_run_changes_nothing(
    tmp_path: Path,
) -> None:
    """In the app of a live run: `H`, open the older run, press the keys that act on a run
    (approve, pause, skip): nothing is sent; the live run's log pane is untouched."""
    workspace = tmp_path / "ws"
    app, engine = fake_app(workspace, start_engine=False)
    write_run(workspace, OLD_RUN, finished_run())
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.sink.connected)
        await pilot.press("H")
        screen = await listed(pilot, app)
        assert list(screen.runs) == [OLD_RUN]
        await pilot.press("enter")
        past = await opened(pilot, app)
        past.select("T4")
        await pilot.press("a", "p", "R", "t", "down")
        await pilot.pause(0.3)
        assert engine.submitted() == []
        assert app.run_screen.logs.active is None
        await pilot.press("escape", "escape")
        await wait_until(pilot, lambda: isinstance(app.screen, RunScreen))


def runs_args(workspace: Path, open_id: str | None, json: bool = False) -> argparse.Namespace:
    return argparse.Namespace(workspace=str(workspace), json=json, open=open_id)


def test_open_an_unknown_run_says_which_there_are(tmp_path: Path, capsys) -> None:
    two_runs(tmp_path)
    assert runs_command.main(runs_args(tmp_path, "nope")) == 2
    err = capsys.readouterr().err
    assert "no run 'nope'" in err and RUN_ID in err and OLD_RUN in err
    assert runs_command.main(runs_args(tmp_path, "", json=True)) == 2
    assert "do not go together" in capsys.readouterr().err
    assert runs_command.main(runs_args(tmp_path / "missing", "")) == 2


def test_a_run_by_its_id_a_part_of_it_or_last(tmp_path: Path) -> None:
    two_runs(tmp_path)
    assert resolve_run_id(tmp_path, RUN_ID) == RUN_ID
    assert resolve_run_id(tmp_path, "last") == RUN_ID
    assert resolve_run_id(tmp_path, "0a0a") == OLD_RUN
    assert resolve_run_id(tmp_path, "20231113") == OLD_RUN
    with pytest.raises(UnknownRun, match="fits 2 runs"):
        resolve_run_id(tmp_path, "2023")
    with pytest.raises(UnknownRun, match="no runs in"):
        resolve_run_id(tmp_path / "empty", "last")


@pytest.mark.parametrize("size", [(80, 24), (160, 45)])
@run_async
async def test_keys_and_stage_names_whole_at_80_and_160(tmp_path: Path, size) -> None:
    write_run(tmp_path, OLD_RUN, finished_run())
    app = RunsApp(tmp_path, load_past_run(tmp_path, OLD_RUN))
    async with app.run_test(size=size) as pilot:
        screen = await opened(pilot, app)
        keys = list(screen.query(FooterKey))
        assert {k.description for k in keys} >= {"Earlier", "Later", "Summary", "Back"}
        for key in keys:
            assert key.region.right <= size[0], (key.description, key.region)
        top = screen.board.render().plain.splitlines()[0]
        assert all(stage.title in top for stage in StageName)


@run_async
async def test_the_live_run_opens_as_its_log_stands_not_settled(tmp_path: Path) -> None:
    """The run an engine holds now: its running tasks stay running at the end (it is not
    stopped), and the title says it is running."""
    two_runs(tmp_path)
    hold_lock(tmp_path, RUN_ID)
    past = load_past_run(tmp_path, RUN_ID)
    assert past.live and past.summary.outcome == "running"
    app = RunsApp(tmp_path, past)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        running = [t.id for t in screen.state.tasks.values() if t.status == TaskStatus.RUNNING]
        assert running == ["T2", "T3"]
        assert "running now" in str(screen.title_line.render())


@run_async
async def test_an_unreadable_run_is_listed_and_not_opened(tmp_path: Path) -> None:
    write_run(tmp_path, OLD_RUN, finished_run())
    broken = tmp_path / ".orchestrator" / "runs" / "20231115-000000-dead" / "events.jsonl"
    broken.parent.mkdir(parents=True)
    broken.write_text("not json at all\n")
    app = RunsApp(tmp_path)
    messages = Messages()
    async with app.run_test(size=SIZE, message_hook=messages) as pilot:
        screen = await listed(pilot, app)
        assert screen.table.get_row_at(0)[:4] == ["20231115-000000-dead", "—", "—", "unreadable"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(messages.notes()))
        severity, text = messages.notes()[0]
        assert severity == "error" and text.startswith("20231115-000000-dead: ")
        assert app.screen is screen  # nothing opened
        await pilot.press("down", "enter")
        await opened(pilot, app)


@pytest.mark.parametrize("width", [80, 160])
@run_async
async def test_the_goal_takes_what_the_columns_leave(tmp_path: Path, width: int) -> None:
    """A long goal is shortened to what the other columns leave of the width: at 160 the
    row fits (no sideways scroll); at 80, where the others alone do not, it keeps its
    16-column minimum. The note under the list gives the whole goal."""
    long_goal = "Add user accounts with sign-up, login, password reset and e-mail checks"
    events = [
        e.model_copy(update={"goal": long_goal}) if isinstance(e, ev.RunStarted) else e
        for e in finished_run()
    ]
    write_run(tmp_path, OLD_RUN, events)
    app = RunsApp(tmp_path)
    async with app.run_test(size=(width, 24)) as pilot:
        screen = await listed(pilot, app)
        await pilot.pause()
        goal = screen.table.get_row_at(0)[-1]
        assert goal.endswith("…") and goal[:-1] in long_goal
        if width == 160:
            assert screen.table.virtual_size.width <= screen.table.size.width
            assert len(goal) > 30
        else:
            assert len(goal) == 16
        assert long_goal in str(screen.note.render())


@run_async
async def test_no_runs_says_so(tmp_path: Path) -> None:
    app = RunsApp(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, RunsScreen))
        screen = app.screen
        await wait_until(pilot, lambda: "no runs in" in str(screen.note.render()))
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen and screen.table.row_count == 0


@run_async
async def test_L_lists_every_event_and_enter_goes_to_one(tmp_path: Path) -> None:
    write_run(tmp_path, OLD_RUN, finished_run())
    app = RunsApp(tmp_path, load_past_run(tmp_path, OLD_RUN))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        end = screen.timeline.end
        await pilot.press("L")
        await wait_until(pilot, lambda: isinstance(app.screen, EventListScreen))
        events = app.screen.query_one(OptionList)
        assert events.option_count == end + 1 and events.highlighted == end
        assert "run complete: all stages passed" in str(events.get_option_at_index(end).prompt)
        await pilot.press("up", "up", "up", "enter")
        await wait_until(pilot, lambda: app.screen is screen)
        assert screen.position == end - 3
        await pilot.press("L", "up", "escape")
        await wait_until(pilot, lambda: app.screen is screen)
        assert screen.position == end - 3  # esc: stays where it was
        failed = next(
            n
            for n, e in enumerate(screen.timeline.events, 1)
            if isinstance(e, ev.GateOpened) and e.failed
        )
        line = event_line(screen.timeline, failed, screen.timeline.time_at(1))
        assert line.startswith("◆") and "Test failed, waits for a decision" in line


@run_async
async def test_the_dag_pane_is_the_graph_and_g_gives_the_table(tmp_path: Path) -> None:
    """As on the run screen: the graph first, `g` the wave table on the same task; h/l
    follow the graph's edges (←/→ are the timeline's here)."""
    write_run(tmp_path, OLD_RUN, finished_run())
    app = RunsApp(tmp_path, load_past_run(tmp_path, OLD_RUN))
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot, app)
        assert screen.graph.display and not screen.tasks.display
        screen.select("T1")
        await pilot.pause()
        await pilot.press("l")  # to a dependent of T1
        await pilot.pause()
        assert screen.selected_task in {"T2", "T3", "T4", "T5"}
        end = screen.position
        await pilot.press("left")
        assert screen.position == end - 1  # the timeline's, not the graph's
        chosen = screen.selected_task
        await pilot.press("g")
        await pilot.pause()
        assert screen.tasks.display and not screen.graph.display
        assert screen.selected_task == chosen
