"""The DAG pane as a graph in the app: the cursor along edges, Enter, `g` to the wave table
and back on the same task, `e`, a click, and a status change redrawn on its node.

The recorded run (app_support.mid_implement): T1 done; T2, T3 running; T4 failed; T5
pending; T6 (after T2, T3, T4) blocked; T7 after T6. Laid out: T1 | T2 T3 T4 T5 | T6 | T7.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import (
    T0,
    fake_app,
    forty_tasks_running,
    mid_implement,
    run_async,
    stamped,
    wait_until,
)

from orchestrator_tui.core import events as ev
from orchestrator_tui.ui.app import OrchestratorApp, feed
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen
from orchestrator_tui.ui.widgets.dag_graph import DagGraph


async def started(pilot: object, app: OrchestratorApp) -> DagGraph:
    recorded = stamped(mid_implement())
    await wait_until(pilot, lambda: app.sink.connected)
    feed(app, recorded)
    await wait_until(pilot, lambda: app.state.last_seq == recorded[-1].seq)
    graph = app.run_screen.graph
    await wait_until(pilot, lambda: graph.selected_task == "T1")
    return graph


def row_text(graph: DagGraph, row: int) -> str:
    return graph.render_line(row - round(graph.scroll_offset.y)).text.rstrip()


@run_async
async def test_the_cursor_moves_along_edges_and_within_a_layer(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await started(pilot, app)
        assert app.focused is graph
        seen = []
        for key in ["right", "right", "right", "left", "left", "down", "down", "down", "up"]:
            await pilot.press(key)
            seen.append(graph.selected_task)
        # T1 → its dependent nearest its row (T2) → T6 → T7; back to T6, to T6's dependency
        # nearest its row (T3); down the layer to T4, T5 and no further; up to T4.
        assert seen == ["T2", "T6", "T7", "T6", "T3", "T4", "T5", "T5", "T4"]
        await pilot.press("left", "left")  # T4 → T1, and T1 depends on nothing
        assert graph.selected_task == "T1"
        await pilot.pause(0.3)
        assert app.selected_task == "T1"


@run_async
async def test_enter_opens_the_selected_task(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await started(pilot, app)
        await pilot.press("right", "down", "down", "enter")  # T2, T3, T4
        await wait_until(pilot, lambda: isinstance(app.screen, TaskDetailScreen))
        assert app.screen.task_state.id == "T4"
        assert graph.selected_task == "T4"


@run_async
async def test_g_swaps_the_graph_and_the_wave_table_on_the_same_task(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await started(pilot, app)
        table = app.run_screen.tasks
        assert graph.display and not table.display
        await pilot.press("right", "right")  # T6
        await pilot.press("g")
        await pilot.pause()
        assert table.display and not graph.display and app.focused is table
        assert table.selected_task == "T6" == app.selected_task
        await pilot.press("down")  # the table's next row: T7
        await pilot.pause()
        assert app.selected_task == "T7"
        await pilot.press("g")
        await pilot.pause()
        assert graph.display and app.focused is graph and graph.selected_task == "T7"
        await pilot.press("left")  # from T7 along its edge: T6
        assert app.selected_task == "T6"


@run_async
async def test_e_draws_only_the_selected_tasks_lines(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await started(pilot, app)
        await pilot.press("right", "down", "down", "down")  # T5: only T1 → T5
        assert graph.selected_task == "T5"
        every = row_text(graph, 1)
        assert "T3 Login page ──────┼─⊘ T6" in every  # T3's line joins T6's bundle
        await pilot.press("e")
        await pilot.pause()
        only = row_text(graph, 1)
        assert "T3 Login page" in only and "┼" not in only and "─" not in only.split("page")[1]
        assert "╰─○ T5" in row_text(graph, 3)
        await pilot.press("e")
        await pilot.pause()
        assert row_text(graph, 1) == every


@run_async
async def test_a_status_change_redraws_its_node_and_a_click_selects(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        graph = await started(pilot, app)
        assert "▶ T2" in row_text(graph, 0)
        seq = app.state.last_seq
        feed(app, [ev.TaskFinished(task="T2", status="done", reason="ok", seq=seq + 1, at=T0 + 94)])
        await wait_until(pilot, lambda: "✓ T2" in row_text(graph, 0))
        layer, row = graph.graph.place["T5"]
        x = graph.frame.starts[layer] + 1
        await pilot.click(graph, offset=(x + 1, row + 1))  # +1: the border
        assert graph.selected_task == "T5"
        await pilot.click(graph, offset=(x + 1, row + 1))
        await wait_until(pilot, lambda: isinstance(app.screen, TaskDetailScreen))
        assert app.screen.task_state.id == "T5"


def shown(events: list, select: str, keys: tuple[str, ...] = (), log: str = "") -> object:
    """run_before for snap_compare: feed the run, settle, select a task, press the keys,
    show `log`'s output. (Keys that pass over tasks would race the log pane, which follows
    the cursor once it rests: no picture of that.)"""
    recorded = stamped(events)

    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.sink.connected)
        feed(app, recorded)
        await wait_until(pilot, lambda: app.state.last_seq == recorded[-1].seq)
        await pilot.pause(0.2)  # the log pane has followed the first task the cursor met
        app.run_screen.select(select)
        await pilot.pause(0.2)
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.2)
        if log:
            app.run_screen.logs.show(log)
            app.run_screen.logs.flush()
        app.clear_notifications()
        await pilot.pause()

    return run_before


def test_picture_of_the_graph_with_the_selected_tasks_edges(snap_compare, tmp_path: Path) -> None:
    """T6 selected: its three dependencies' edges and its dependent's lit, ★ on the path."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    run_before = shown(mid_implement(), "T6", log="T2")
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_picture_of_the_wave_table_after_g(snap_compare, tmp_path: Path) -> None:
    """`g`: the wave table, as before the graph, on the task the graph had selected."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    run_before = shown(mid_implement(), "T2", ("g",), log="T2")
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
def test_picture_of_forty_tasks(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    """Eight waves of five mid-run: finished layers give up their titles first, ≈1 marks
    the two tasks that may touch the same file; at 80×24 the pane scrolls."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    run_before = shown(forty_tasks_running(), "T14", log="T11")
    assert snap_compare(app, terminal_size=size, run_before=run_before)
