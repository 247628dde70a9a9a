"""Live reload: PLAN.md and CLAUDE.md edits while a run is open."""

from __future__ import annotations

from pathlib import Path

from engine_support import DIAMOND, Background, Recorder, engine_for, make_workspace, sim_config

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import TaskStatus

SLOW_A = "[tasks.A]\nduration = 20.0\n"  # 1 s at the test speed of 20×
CLAUDE = "# System\n\n## Stage 4: Implement\nDo the task.\n\n## Stage 6: Test\nRun tests.\n"


def test_plan_and_system_edits_during_implement(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, DIAMOND, SLOW_A)
    (workspace / "CLAUDE.md").write_text(CLAUDE)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(SLOW_A), recorder, watch=True)
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.TaskStarted) and e.task == "A")
        (workspace / "PLAN.md").write_text(DIAMOND + "\n## A: duplicate\n")  # invalid
        bad = recorder.wait_for(lambda e: isinstance(e, ev.PlanReloaded) and bool(e.error))
        assert "duplicate task ID A" in bad.error and "PLAN.md:" in bad.error
        edited = DIAMOND.replace("## D: Join\ndepends: B, C", "## D: Join\ndepends: B")
        edited += "\n## E: Extra\ndepends: A\nfiles: e.py\n"
        tmp = workspace / "PLAN.md.tmp"
        tmp.write_text(edited)
        tmp.replace(workspace / "PLAN.md")  # editors save by rename
        good = recorder.wait_for(lambda e: isinstance(e, ev.PlanReloaded) and not e.error)
        assert good.added == ("E",) and good.changed == ("D",) and good.removed == ()
        (workspace / "CLAUDE.md").write_text(CLAUDE.replace("Run tests.", "Run all tests."))
        system = recorder.wait_for(lambda e: isinstance(e, ev.SystemReloaded))
        assert system.sections == ("Test",)
        assert run.result() == "complete"
    assert engine.state.tasks["E"].status == TaskStatus.DONE
    assert engine.state.tasks["D"].depends == ("B",)
    assert engine.state.plan_error == ""
