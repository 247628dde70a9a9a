"""What a trial on a real repository found on the app's screen, each pinned by a test:
the Agent column blank after a PLAN.md reload, `[`/`]` cycling only the logs viewed
since a resume, paths read as Markdown, "1 tasks, 1 waves", the security counts shown
twice, stage names and footer keys cut at 80 columns, the stage number lost at 119."""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import (
    T0,
    TASKS,
    fake_app,
    mid_implement,
    run_async,
    stamped,
    wait_until,
)
from markdown_it import MarkdownIt
from textual.widgets._footer import FooterKey

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import STAGES, Plan, StageName, Task
from orchestrator_tui.core.state import replay
from orchestrator_tui.stages.plan import dag_summary
from orchestrator_tui.ui.app import feed
from orchestrator_tui.ui.evidence import evidence_markdown, gate_markdown


def html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_a_reload_keeps_the_profile_a_task_ran_on() -> None:
    state = replay(stamped([*mid_implement(), ev.PlanReloaded(tasks=TASKS, at=T0 + 93)]))
    assert state.tasks["T3"].agent == "codex"
    assert state.tasks["T2"].agent == "claude"


@run_async
async def test_the_agent_column_survives_a_reload(tmp_path: Path) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    events = stamped([*mid_implement(), ev.PlanReloaded(tasks=TASKS, at=T0 + 93)])
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: app.sink.connected)
        feed(app, events)
        await wait_until(pilot, lambda: app.state.last_seq == events[-1].seq)
        await pilot.pause()
        app.run_screen.action_toggle_dag()  # the wave table: its Agent column
        table = app.run_screen.tasks
        assert table.rendered["T3"]["agent"] == "codex"


@run_async
async def test_brackets_cycle_every_task_that_ran_after_a_resume(tmp_path: Path) -> None:
    """The app starts on a state that already has T1…T4 started (a resumed run): `]`
    walks all four, not only the panes opened since the restart."""
    app, engine = fake_app(tmp_path / "ws", start_engine=False)
    engine.state = replay(stamped(mid_implement()))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_until(pilot, lambda: bool(app.run_screen.graph.graph.place))
        seen = []
        for _ in range(5):
            await pilot.press("right_square_bracket")
            seen.append(app.run_screen.logs.active)
        assert set(seen) == {"T1", "T2", "T3", "T4"}, seen


def test_paths_in_the_plan_table_are_not_markdown() -> None:
    plan = Plan(tasks=(Task(id="T1", title="Package __init__", files=("src/pkg/__init__.py",)),))
    lines, _evidence = dag_summary(plan)
    rendered = html("\n".join(lines))
    assert "<strong>" not in rendered.split("</p>", 1)[1], rendered
    assert "<code>src/pkg/__init__.py</code>" in rendered
    assert "Package __init__" in rendered


def test_one_task_one_wave_in_the_singular() -> None:
    plan = Plan(tasks=(Task(id="T1", title="Only"),))
    lines, evidence = dag_summary(plan)
    assert "1 task in 1 wave." in lines[0]
    shown = evidence_markdown(StageName.PARALLEL, evidence)
    assert "**1 task**, **1 wave**" in shown


def test_security_counts_are_shown_once() -> None:
    details = "Scanned …\n\n| high | medium | low |\n|---:|---:|---:|\n| 0 | 1 | 2 |"
    evidence = {
        "findings": [{"severity": "medium", "tool": "bandit", "rule": "B108", "file": "a.py"}],
        "counts": {"high": 0, "medium": 1, "low": 2},
        "total": 3,
        "scanners": ["bandit"],
    }
    state = replay(
        stamped(
            [
                ev.StageStarted(stage=StageName.SECURITY, at=T0),
                ev.StageFinished(
                    stage=StageName.SECURITY,
                    status="done",
                    summary="3 findings",
                    details=details,
                    evidence=evidence,
                    at=T0 + 1,
                ),
            ]
        )
    )
    shown = gate_markdown(state, StageName.SECURITY)
    assert shown.count("medium") == 1, shown
    assert "counts" not in shown
    assert "scanners" in shown  # the rest of the evidence is still listed


def board_lines(app) -> list[str]:
    return app.run_screen.board.render().plain.splitlines()


@pytest.mark.parametrize("width", [80, 119, 160])
@run_async
async def test_stage_names_whole_and_footer_keys_whole(tmp_path: Path, width: int) -> None:
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    events = stamped(mid_implement())
    async with app.run_test(size=(width, 24 if width == 80 else 40)) as pilot:
        await wait_until(pilot, lambda: app.sink.connected)
        feed(app, events)
        await wait_until(pilot, lambda: app.state.last_seq == events[-1].seq)
        await pilot.pause()
        top = board_lines(app)[0]
        assert "…" not in top
        for stage in STAGES:
            assert stage.title in top
        if width >= 119:
            assert "4 Implement" in top
        keys = list(app.screen.query(FooterKey))
        assert keys
        for key in keys:
            assert key.region.right <= width, (key.description, key.region)
