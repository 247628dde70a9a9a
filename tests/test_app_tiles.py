"""Agents side by side (`v`): the running agents' tiles, moving between them, pages, zoom,
Enter, the keys acting on the selected tile's task, new lines reaching a tile, and back."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import (
    RUN_ID,
    T0,
    WORKSPACE,
    fake_app,
    forty_tasks_running,
    mid_implement,
    output,
    passed,
    run_async,
    stamped,
    wait_until,
)

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, Task
from orchestrator_tui.ui.app import OrchestratorApp, feed
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen
from orchestrator_tui.ui.widgets.agent_logs import FLUSH_SECONDS

AGENT_TASKS = tuple(
    Task(id=f"A{n}", title=f"Agent job {n}", files=(f"src/job{n}.py",)) for n in range(1, 9)
)


def agents_at_work(count: int) -> list[ev.EventBase]:
    """`count` of eight independent tasks running, each with a few lines of output."""
    events: list[ev.EventBase] = [
        ev.RunStarted(run_id=RUN_ID, workspace=WORKSPACE, at=T0),
        *passed(StageName.ANALYZE, T0, "12 files"),
        *passed(StageName.PLAN, T0, "8 tasks"),
        *passed(StageName.PARALLEL, T0, "8 tasks, 1 wave"),
        ev.StageStarted(stage=StageName.IMPLEMENT, at=T0 + 1),
        ev.PlanFrozen(tasks=AGENT_TASKS, waves=[[t.id for t in AGENT_TASKS]], at=T0 + 1),
    ]
    for n in range(1, count + 1):
        events.append(ev.TaskStarted(task=f"A{n}", agent="claude", at=T0 + 2 + n))
        lines = [f"▸ Read src/job{n}.py", f"working on job {n}", f"▸ Bash: pytest -q tests/{n}"]
        events.append(output(f"A{n}", lines, T0 + 10 + n))
        events.append(
            ev.TaskUsage(task=f"A{n}", input_tokens=1000 * n, output_tokens=100 * n, at=T0 + 20)
        )
    events.append(output("A2", ["Error: job 2 hit a snag"], T0 + 30))
    return events


async def opened(pilot: object, app: OrchestratorApp, events: list[ev.EventBase]) -> None:
    recorded = stamped(events)
    await wait_until(pilot, lambda: app.sink.connected)
    feed(app, recorded)
    await wait_until(pilot, lambda: app.state.last_seq == recorded[-1].seq)
    await pilot.pause(FLUSH_SECONDS + 0.1)


def shown_tiles(app: OrchestratorApp) -> list[str]:
    return [t.task_id or "" for t in app.run_screen.tiles.tiles if t.display and t.task_id]


@run_async
async def test_v_shows_the_running_agents_side_by_side_and_back(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, app, mid_implement())
        screen = app.run_screen
        await pilot.press("v")
        await pilot.pause()
        tiles = screen.tiles
        assert tiles.display and not screen.graph.display and not screen.logs.display
        assert app.focused is tiles
        assert shown_tiles(app) == ["T2", "T3"]  # the running ones, in plan order
        first, second = tiles.tiles[0], tiles.tiles[1]
        assert first.border_title == "▶ T2 REST endpoints"
        assert first.border_subtitle == "running · 53s · 9,500 tok"
        assert first.newest_line() == "4 passed in 0.31s"
        assert first.has_class("-selected") and not second.has_class("-selected")
        await pilot.press("right")
        assert tiles.selected_task == "T3" == app.selected_task
        assert second.has_class("-selected")
        await pilot.press("v")  # back: the DAG pane, on the tile's task
        await pilot.pause()
        assert screen.graph.display and not tiles.display and app.focused is screen.graph
        assert screen.graph.selected_task == "T3"


@run_async
async def test_keys_act_on_the_selected_tiles_task_and_enter_opens_it(tmp_path: Path) -> None:
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await opened(pilot, app, agents_at_work(6))
        await pilot.press("v", "right", "down")  # 3×2: A1 → A2 → A5
        assert app.run_screen.tiles.selected_task == "A5"
        await pilot.press("s")
        await pilot.pause()
        assert engine.submitted() == [("skip", "A5", "", "app")]
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, TaskDetailScreen))
        assert app.screen.task_state.id == "A5"


@run_async
async def test_six_tiles_at_once_then_pages_and_zoom(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await opened(pilot, app, agents_at_work(8))
        await pilot.press("v")
        await pilot.pause()
        tiles = app.run_screen.tiles
        assert shown_tiles(app) == ["A1", "A2", "A3", "A4", "A5", "A6"]
        assert "8 running" in tiles.border_title and "page 1/2" in tiles.border_title
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert shown_tiles(app) == ["A7", "A8"] and tiles.selected_task == "A7"
        await pilot.press("left")  # past the page's edge: back to the first page
        await pilot.pause()
        assert tiles.selected_task == "A6" and "A1" in shown_tiles(app)
        await pilot.press("z")
        await pilot.pause()
        assert shown_tiles(app) == ["A6"] and "zoomed" in tiles.border_title
        await pilot.pause()
        assert tiles.tiles[0].size.width > 150  # the whole area
        await pilot.press("z")
        await pilot.pause()
        assert len(shown_tiles(app)) == 6


@pytest.mark.parametrize(("size", "room"), [((80, 24), 2), ((120, 40), 4), ((160, 45), 6)])
def test_the_size_says_how_many_tiles(size: tuple[int, int], room: int, tmp_path: Path) -> None:
    @run_async
    async def check() -> None:
        app, _engine = fake_app(tmp_path / "ws", start_engine=False)
        async with app.run_test(size=size) as pilot:
            await opened(pilot, app, agents_at_work(8))
            await pilot.press("v")
            await pilot.pause()
            assert len(shown_tiles(app)) == room

    check()


@run_async
async def test_new_lines_reach_their_tile(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await opened(pilot, app, agents_at_work(4))
        await pilot.press("v")
        await pilot.pause()
        tile = app.run_screen.tiles.tiles[2]
        assert tile.task_id == "A3"
        feed(app, [output("A3", ["\x1b[31mbrand new line\x1b[0m"], T0 + 40)])
        await wait_until(pilot, lambda: tile.newest_line() == "brand new line")
        await pilot.pause(FLUSH_SECONDS * 2)
        height = tile.content_size.height
        drawn = [tile.render_line(y).text.rstrip() for y in range(height)]
        assert "brand new line" in drawn  # cleaned of its escape codes
        assert app.run_screen.tiles.tiles[1].newest_line() == "Error: job 2 hit a snag"


@run_async
async def test_with_no_agent_running_the_tiles_show_the_last_that_ran(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    events = [
        *agents_at_work(2),
        ev.TaskFinished(task="A1", status="done", reason="ok", at=T0 + 50),
        ev.TaskFinished(task="A2", status="failed", reason="exit 1", at=T0 + 51),
    ]
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, app, events)
        await pilot.press("v")
        await pilot.pause()
        tiles = app.run_screen.tiles
        assert set(shown_tiles(app)) == {"A1", "A2"}
        assert "the last 2 that ran" in tiles.border_title
        subtitles = {t.task_id: t.border_subtitle for t in tiles.tiles if t.display}
        assert subtitles["A2"].startswith("failed")


def tiles_after(events: list[ev.EventBase], keys: tuple[str, ...]) -> object:
    """run_before for snap_compare: feed the run, let the panes drain, press the keys."""

    async def run_before(pilot) -> None:
        app = pilot.app
        await opened(pilot, app, events)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(FLUSH_SECONDS + 0.1)
        app.clear_notifications()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
def test_picture_of_six_agents_side_by_side(snap_compare, tmp_path: Path, size) -> None:
    """Six agents at work: 3×2 tiles at 160×45 (A5 selected), 2 at a time at 80×24."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    run_before = tiles_after(agents_at_work(6), ("v", "right", "down"))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_picture_of_a_zoomed_tile(snap_compare, tmp_path: Path) -> None:
    """`z` on A2: its tile takes the whole area, its error line in red."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    run_before = tiles_after(agents_at_work(6), ("v", "right", "z"))
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


@run_async
async def test_running_agents_come_first_and_ended_ones_only_fill_the_page(
    tmp_path: Path,
) -> None:
    """A trial found the tiles of agents that had just ended ahead of the running ones,
    pushing these to a second page."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    events = [
        *agents_at_work(8),
        ev.TaskFinished(task="A1", status="done", reason="ok", at=T0 + 90),
        ev.TaskFinished(task="A2", status="done", reason="ok", at=T0 + 91),
        ev.TaskFinished(task="A3", status="done", reason="ok", at=T0 + 92),
    ]  # the frozen clock is T0 + 95: all three ended in the last 15 s
    async with app.run_test(size=(160, 45)) as pilot:
        await opened(pilot, app, events)
        await pilot.press("v")
        await pilot.pause()
        tiles = app.run_screen.tiles
        assert tiles.order == ["A4", "A5", "A6", "A7", "A8", "A3"]  # one slot left: A3
        assert "5 running, 1 just ended" in tiles.border_title
        assert "page" not in tiles.border_title


@run_async
async def test_a_tile_opened_as_its_agent_starts_shows_its_first_lines_once(
    tmp_path: Path,
) -> None:
    """A trial showed an agent's first line twice: the tile read the log file's tail of a
    task the app had seen start, then got the same line from the buffers."""
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, app, agents_at_work(0))
        await pilot.press("v")
        await pilot.pause()
        log = engine.files.log("A1")
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("[sim] A1 attempt 1\n")  # the engine writes the file as lines come
        seq = app.state.last_seq
        feed(app, [ev.TaskStarted(task="A1", agent="sim", seq=seq + 1, at=T0 + 60)])
        await pilot.pause(FLUSH_SECONDS + 0.05)
        feed(app, [output("A1", ["[sim] A1 attempt 1"], T0 + 61)])
        await pilot.pause(FLUSH_SECONDS + 0.05)
        assert list(app.run_screen.logs.panes["A1"].lines) == ["[sim] A1 attempt 1"]


@run_async
async def test_back_from_the_tiles_the_graph_shows_the_tiles_task(tmp_path: Path) -> None:
    """A trial found the graph scrolled far sideways after `v` `v`: it had been asked to
    show the task while it had no size."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await opened(pilot, app, forty_tasks_running())
        await pilot.press("v", "right", "v")
        await pilot.pause()
        graph = app.run_screen.graph
        layer, _row = graph.graph.place[graph.selected_task or ""]
        left, width = round(graph.scroll_offset.x), graph.scrollable_content_region.width
        start, size = graph.frame.starts[layer], graph.frame.widths[layer]
        assert left <= start and start + size <= left + width, (left, start, size, width)
