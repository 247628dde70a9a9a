"""Pictures of what a trial found on screen: the plan approval table with paths and titles
that look like Markdown (`__init__.py` must not show as a bold "init"), and the board at
119 columns, where every stage keeps its number."""

from __future__ import annotations

from pathlib import Path

from app_support import RUN_ID, T0, WORKSPACE, fake_app, mid_implement, passed
from test_app_snapshots import prepared

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import Plan, StageName, Task
from orchestrator_tui.core.scheduler import schedule
from orchestrator_tui.stages.plan import dag_summary

PACKAGE_PLAN = Plan(
    title="Package __init__ files",
    tasks=(
        Task(id="T1", title="Export __all__", files=("src/pkg/__init__.py",)),
        Task(
            id="T2",
            title="Tests for *args",
            depends=("T1",),
            files=("tests/__init__.py", "tests/test_pkg.py"),
        ),
    ),
)


def at_gate_with_real_details() -> list[ev.EventBase]:
    """The parallel gate, its details written by the plan stage's own dag_summary."""
    lines, evidence = dag_summary(PACKAGE_PLAN)
    waves = [list(w) for w in schedule(PACKAGE_PLAN.tasks).waves]
    return [
        ev.RunStarted(run_id=RUN_ID, workspace=WORKSPACE, goal="Export the API", at=T0),
        *passed(StageName.ANALYZE, T0 + 1, "3 files, Python 3.12, pytest"),
        *passed(StageName.PLAN, T0 + 7, "adopted PLAN.md: 2 tasks", by="app"),
        ev.StageStarted(stage=StageName.PARALLEL, at=T0 + 14),
        ev.PlanFrozen(tasks=PACKAGE_PLAN.tasks, waves=waves, at=T0 + 15),
        ev.StageFinished(
            stage=StageName.PARALLEL,
            status="done",
            summary="2 tasks, 2 waves",
            details="\n".join(lines),
            evidence=evidence,
            at=T0 + 15,
        ),
        ev.GateOpened(stage=StageName.PARALLEL, summary="2 tasks, 2 waves", at=T0 + 15),
    ]


def test_approval_table_shows_paths_as_written(snap_compare, tmp_path: Path) -> None:
    """`src/pkg/__init__.py`, `tests/__init__.py`, "Export __all__", "Tests for *args"
    read as typed."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(
        app, terminal_size=(90, 34), run_before=prepared(at_gate_with_real_details(), modal=True)
    )


def test_board_at_119_columns_keeps_stage_numbers(snap_compare, tmp_path: Path) -> None:
    """ "✓ 4 Implement" and every other stage whole, with its number, at 119 columns."""
    app, _engine = fake_app(tmp_path / "ws", start_engine=False)
    assert snap_compare(app, terminal_size=(119, 30), run_before=prepared(mid_implement(), "T2"))
