"""Bad input on purpose: a 500-task plan, a 2,000-character title, escape codes and
control characters in agent output, a tiny terminal."""

from __future__ import annotations

import time
from pathlib import Path

from app_support import RUN_ID, T0, WORKSPACE, fake_app, run_async, stamped, wait_until

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, Task
from orchestrator_tui.ui.app import feed
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen
from orchestrator_tui.ui.widgets.agent_logs import BUFFER_LINES

NASTY = [
    "\x1b[2J\x1b[H\x1b[?1049hcleared the screen?",
    "\x1b]0;pwned title\x07title changed?",
    "bell\x07 backspace\x08 nul\x00 delete\x7f vertical\x0btab\x0cform",
    "progress  10%\rprogress 100%",
    "\x1b[31mred error\x1b[0m loses its codes",
    "bidi \u202eoverride\u202c gone",
    "\x9b2J c1 csi",
    "\x1bPq dcs payload\x1b\\after dcs",
    "x" * 5000,
]


def opening(tasks: tuple[Task, ...], waves: list[list[str]], path: list[str]) -> list:
    return [
        ev.RunStarted(run_id=RUN_ID, workspace=WORKSPACE, at=T0),
        ev.StageStarted(stage=StageName.IMPLEMENT, at=T0 + 1),
        ev.PlanFrozen(tasks=tasks, waves=waves, critical_path=path, at=T0 + 1),
    ]


@run_async
async def test_escape_codes_and_control_characters_never_reach_the_screen(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    task = Task(id="T1", title="Noisy")
    async with app.run_test(size=(100, 30)) as pilot:
        feed(
            app,
            stamped(
                [
                    *opening((task,), [["T1"]], ["T1"]),
                    ev.TaskStarted(task="T1", agent="sim", at=T0 + 2),
                    ev.TaskOutput(task="T1", lines=tuple(NASTY), at=T0 + 3),
                ]
            ),
        )
        await wait_until(pilot, lambda: app.run_screen.logs.lines_received == len(NASTY))
        app.run_screen.logs.flush()
        await pilot.pause()
        view = app.run_screen.logs.view
        shown = [view.text_at(i) for i in range(len(view.lines))]
        assert len(shown) == len(NASTY)
        for line in shown:
            assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in line), repr(line)
            assert "\u202e" not in line
        assert shown[0] == "cleared the screen?"
        assert shown[1] == "title changed?"
        assert shown[3] == "progress 100%"
        assert shown[4] == "red error loses its codes"
        assert shown[7] == "after dcs"
        assert len(shown[8]) == 2_000 and shown[8].endswith("…")  # long lines are cut
        await pilot.pause()
        drawn = view.render_line(4)  # the error line, as drawn
        error = view.style("error")
        assert drawn.text.startswith("red error loses its codes")
        assert any(seg.style and seg.style.color == error.color for seg in drawn)
        screen = app.export_screenshot()
        assert "\x1b" not in screen and "pwned" not in screen
        header = str(app.run_screen.header.render())
        assert RUN_ID in header  # the header is still where it was


@run_async
async def test_a_flood_keeps_a_bounded_buffer(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    task = Task(id="T1", title="Chatty")
    async with app.run_test(size=(100, 30)) as pilot:
        feed(
            app,
            stamped(
                [
                    *opening((task,), [["T1"]], ["T1"]),
                    ev.TaskStarted(task="T1", agent="sim", at=T0 + 2),
                ]
            ),
        )
        batches = [
            ev.TaskOutput(task="T1", lines=tuple(f"line {n * 400 + i}" for i in range(400)))
            for n in range(25)
        ]
        feed(app, batches)
        await wait_until(pilot, lambda: app.run_screen.logs.lines_received == 10_000)
        app.run_screen.logs.flush()
        await pilot.pause()
        view = app.run_screen.logs.view
        assert len(view.lines) == BUFFER_LINES
        assert app.run_screen.logs.newest_line() == "line 9999"
        assert len(app.run_screen.logs.panes["T1"].lines) == BUFFER_LINES


@run_async
async def test_a_500_task_plan_stays_fast(tmp_path: Path) -> None:
    tasks = tuple(
        Task(
            id=f"T{n:03d}", title=f"Task number {n}", depends=(f"T{n - 10:03d}",) if n >= 10 else ()
        )
        for n in range(500)
    )
    waves = [[f"T{w * 10 + i:03d}" for i in range(10)] for w in range(50)]
    path = [f"T{w * 10:03d}" for w in range(50)]
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.run_screen.action_toggle_dag()  # the wave table (the graph: test_app_graph.py)
        events = stamped(
            [
                *opening(tasks, waves, path),
                *(ev.TaskStarted(task=f"T{n:03d}", agent="sim", at=T0 + 2) for n in range(8)),
            ]
        )
        feed(app, events)
        table = app.run_screen.tasks
        await wait_until(pilot, lambda: len(table.order) == 500, timeout=10)
        assert table.row_count == 500
        assert table.dag_layout.wave_of["T499"] == 49
        # One more event (what every usage report costs): only changed cells are redrawn.
        started = time.perf_counter()
        feed(
            app,
            [
                ev.TaskUsage(
                    task="T003",
                    input_tokens=10,
                    output_tokens=5,
                    cost_usd=0.01,
                    seq=events[-1].seq + 1,
                )
            ],
        )
        await pilot.pause()
        elapsed = time.perf_counter() - started
        assert app.state.tasks["T003"].tokens == 15
        assert elapsed < 1.0, f"one event took {elapsed:.3f} s with 500 tasks"
        started = time.perf_counter()
        app.tick()  # the clock moves on: every bound widget reads the state again
        assert time.perf_counter() - started < 0.2
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert table.selected_task == "T499"


@run_async
async def test_a_2000_character_title(tmp_path: Path) -> None:
    title = "Refactor " + "the very long thing " * 100
    task = Task(id="LONG", title=title[:2000], description="d")
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        app.run_screen.action_toggle_dag()  # the wave table
        feed(app, stamped(opening((task,), [["LONG"]], ["LONG"])))
        await wait_until(pilot, lambda: app.run_screen.tasks.order == ("LONG",))
        cell = app.run_screen.tasks.rendered["LONG"]["title"]
        assert len(cell) <= app.run_screen.tasks.widths["title"] and cell.endswith("…")
        await pilot.press("enter")
        assert isinstance(app.screen, TaskDetailScreen)
        assert title[:2000].split()[0] in app.screen.overview()
        await pilot.press("escape")
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        assert app.run_screen.tasks.widths["title"] >= 8
