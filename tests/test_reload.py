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


def test_a_profile_fixed_in_config_toml_is_used_on_the_retry(tmp_path: Path) -> None:
    """What a trial did: the agent's program is not found, its message says to set it in
    config.toml; the person does, and retries. The retry used the profile the run had
    started with (it failed again until the app was restarted)."""
    workspace = make_workspace(tmp_path, "# Plan: one\n\n## A: a\nfiles: a.txt\n")
    broken = {"backend": "command", "command": ["/no/such/agent"]}
    config = sim_config(agents={"default": "tool", "tool": broken})
    recorder = Recorder()
    engine = engine_for(workspace, config, recorder, watch=True)
    with Background(engine) as run:
        warned = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        assert warned.stage == "parallel" and "/no/such/agent" in " ".join(warned.blockers)
        engine.submit("approve")  # the person goes on all the same, as in the trial
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened) and e.failed)
        assert gate.stage == "implement"
        first = recorder.of(ev.TaskFinished)[0]
        assert "/no/such/agent" in first.reason
        (workspace / ".orchestrator" / "config.toml").write_text(
            '[run]\nconcurrency = 2\n\n[agents]\ndefault = "tool"\n\n'
            '[agents.tool]\nbackend = "command"\ncommand = ["sh", "-c", "echo fixed > a.txt"]\n'
        )
        reloaded = recorder.wait_for(lambda e: isinstance(e, ev.Notice) and "config" in e.text)
        assert "agent profiles reloaded" in reloaded.text
        later = recorder.wait_for(lambda e: isinstance(e, ev.Notice) and "next run" in e.text)
        assert "[run]" in later.text  # concurrency: not while this run goes
        engine.submit("retry")
        assert run.result() == "complete"
    assert engine.state.tasks["A"].status == TaskStatus.DONE
    assert (workspace / "a.txt").read_text() == "fixed\n"


def test_a_broken_config_toml_changes_nothing_and_says_why(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, DIAMOND, SLOW_A)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(SLOW_A), recorder, watch=True)
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.TaskStarted) and e.task == "A")
        (workspace / ".orchestrator" / "config.toml").write_text("[agents\ndefault = 1\n")
        warning = recorder.wait_for(lambda e: isinstance(e, ev.Notice) and "config" in e.text)
        assert warning.level == "warning" and "not reloaded" in warning.text
        assert run.result() == "complete"
    assert engine.config.agents.default == "sim"
