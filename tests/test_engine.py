"""The engine end to end on the simulated backend: exact events, gates, tasks, commands."""

from __future__ import annotations

import itertools
from pathlib import Path

from engine_support import DIAMOND, Background, Recorder, engine_for, make_workspace, sim_config

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import STAGES, StageName, TaskStatus
from orchestrator_tui.core.protocols import StageResult
from orchestrator_tui.infra.store import RunFiles, load_run

STAGE_EVENTS = ["stage_started", "stage_finished", "gate_decided"]


def test_full_run_emits_the_exact_event_sequence(tmp_path: Path) -> None:
    plan = "# Plan: Two\n\n## T1: One\ndepends: none\n\n## T2: Two\ndepends: T1\n"
    workspace = make_workspace(tmp_path, plan)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder)
    engine.open()
    assert engine.run() == "complete"
    task_events = ["task_started", "task_usage", "task_merged", "task_finished"]
    expected = (
        ["run_started"]
        + STAGE_EVENTS * 2
        + ["stage_started", "plan_frozen", "stage_finished", "gate_decided"]
        + ["stage_started", *task_events, *task_events, "stage_finished", "gate_decided"]
        + STAGE_EVENTS * 5
        + ["run_finished"]
    )
    assert recorder.kinds() == expected
    assert [e.seq for e in recorder.events if e.persisted] == list(range(1, len(expected) + 1))
    finished = recorder.of(ev.TaskFinished)
    assert [(e.task, e.status) for e in finished] == [("T1", "done"), ("T2", "done")]
    assert all(e.by == "auto" for e in recorder.of(ev.GateDecided))


def test_replaying_the_log_gives_exactly_the_live_state(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    engine = engine_for(workspace, sim_config(), Recorder())
    run_id = engine.open()
    engine.run()
    replayed, warnings = load_run(RunFiles(workspace, run_id))
    assert warnings == []
    assert replayed == engine.state
    assert replayed.count(TaskStatus.DONE) == 4


def test_gate_waits_then_approve_and_reject_with_feedback(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    recorder = Recorder()
    approve = frozenset(STAGES) - {StageName.PARALLEL}
    engine = engine_for(workspace, sim_config(), recorder, approve=approve)
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        engine.submit("reject", feedback="split task B", by="app")
        recorder.wait_for(
            lambda e: isinstance(e, ev.StageStarted) and e.stage == "parallel" and e.attempt == 2
        )
        again = [e for e in recorder.of(ev.StageStarted) if e.stage == "parallel"][-1]
        assert again.feedback == "split task B"
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened) and e.seq > again.seq)
        engine.submit("approve", by="app")
        assert run.result() == "complete"
    decisions = [(e.stage, e.decision, e.by) for e in recorder.of(ev.GateDecided) if e.by != "auto"]
    assert decisions == [("parallel", "reject", "app"), ("parallel", "approve", "app")]


def test_commands_that_make_no_sense_are_refused_and_the_run_goes_on(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder, approve=frozenset())
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))  # the plan gate
        engine.submit("resume")
        engine.submit("retry", task="A")  # no task ran yet
        engine.submit("skip", task="nope")
        (workspace / ".orchestrator" / "inbox").mkdir(exist_ok=True)  # app commands need none
        (workspace / ".orchestrator" / "inbox" / "0-bad.json").write_text("{not json")
        (workspace / ".orchestrator" / "inbox" / "1-bad.json").write_text(
            '{"id":"x","action":"explode"}'
        )
        recorder.wait_for(
            lambda e: (
                (isinstance(e, ev.CommandApplied) and "explode" in e.message)
                or (isinstance(e, ev.CommandApplied) and e.command_id == "1-bad.json")
            )
        )
        engine.submit("cancel")
        assert run.result() == "cancelled"
    answers = {e.action: (e.ok, e.message) for e in recorder.of(ev.CommandApplied)}
    assert answers["resume"] == (False, "not paused")
    assert answers["skip nope"] == (False, "no task 'nope'")
    refused = [e for e in recorder.of(ev.CommandApplied) if e.action == "?"]
    assert len(refused) == 2 and all(not e.ok for e in refused)
    assert sorted(p.name for p in (workspace / ".orchestrator/inbox/rejected").iterdir()) == [
        "0-bad.json",
        "1-bad.json",
    ]


SCRIPT_B_FAILS = """
[tasks.B]
fail_attempts = 5
"""


def test_failed_task_blocks_dependents_only_and_retry_recovers(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, DIAMOND, SCRIPT_B_FAILS)
    recorder = Recorder()
    config = sim_config(SCRIPT_B_FAILS, run={"retries": 1})
    engine = engine_for(workspace, config, recorder)
    with Background(engine) as run:
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        assert gate.stage == "implement" and gate.failed
        state = engine.state
        assert state.tasks["B"].status == TaskStatus.FAILED
        assert state.tasks["B"].attempt == 2  # one retry
        assert state.tasks["C"].status == TaskStatus.DONE  # independent work went on
        assert state.tasks["D"].status == TaskStatus.BLOCKED
        assert state.tasks["D"].reason == "B failed"
        engine.submit("approve")  # refused: the stage failed
        recorder.wait_for(lambda e: isinstance(e, ev.CommandApplied) and not e.ok)
        (workspace / "sim.toml").write_text("")  # the agent is fixed
        engine.submit("retry", task="B")
        assert run.result() == "complete"
    assert engine.state.tasks["D"].status == TaskStatus.DONE
    starts = [e.task for e in recorder.of(ev.TaskStarted)]
    assert starts.count("A") == 1 and starts.count("C") == 1  # finished work never reran


def test_skip_unblocks_dependents(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, DIAMOND, SCRIPT_B_FAILS)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(SCRIPT_B_FAILS, run={"retries": 0}), recorder)
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        engine.submit("skip", task="B")
        assert run.result() == "complete"
    assert engine.state.tasks["B"].status == TaskStatus.SKIPPED
    assert engine.state.tasks["D"].status == TaskStatus.DONE


def test_retry_with_backoff_after_a_scripted_failure(tmp_path: Path) -> None:
    script = "[tasks.C]\nfail_attempts = 1\n"
    workspace = make_workspace(tmp_path, DIAMOND, script)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(script), recorder)
    engine.open()
    assert engine.run() == "complete"
    c_finishes = [e for e in recorder.of(ev.TaskFinished) if e.task == "C"]
    assert [(e.status, e.will_retry, e.attempt) for e in c_finishes] == [
        ("failed", True, 1),
        ("done", False, 2),
    ]
    assert "retrying in 0.05 s" in c_finishes[0].reason


WIDE = "# Plan: Wide\n\n" + "".join(
    f"## W{i}: Task {i}\ndepends: none\nfiles: {'shared.py' if i < 3 else f'f{i}.py'}\n\n"
    for i in range(8)
)


def intervals(recorder: Recorder) -> dict[str, tuple[float, float]]:
    start = {e.task: e.at for e in recorder.of(ev.TaskStarted)}
    return {e.task: (start[e.task], e.at) for e in recorder.of(ev.TaskFinished)}


def test_concurrency_cap_and_overlap_guard(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path, WIDE)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder, concurrency=3)
    engine.open()
    assert engine.run() == "complete"
    spans = intervals(recorder)
    moments = sorted(t for span in spans.values() for t in span)
    most = max(sum(1 for a, b in spans.values() if a <= m < b) for m in moments)
    assert most <= 3
    shared = sorted(spans[f"W{i}"] for i in range(3))
    for (_, end), (next_start, _) in itertools.pairwise(shared):
        assert next_start >= end  # W0, W1, W2 share a file: never side by side


def test_budget_stops_new_work_and_waits_at_the_gate(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    recorder = Recorder()
    config = sim_config(budget={"usd": 0.01}, run={"concurrency": 1})
    engine = engine_for(workspace, config, recorder)
    with Background(engine):
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        assert gate.stage == "implement" and gate.failed
        assert "budget reached" in gate.summary
        assert recorder.of(ev.BudgetReached)
        assert [e.task for e in recorder.of(ev.TaskStarted)] == ["A"]


def test_pause_starts_nothing_new_until_resume(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder, approve=frozenset(STAGES) - {"parallel"})
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        engine.submit("pause")
        recorder.wait_for(lambda e: isinstance(e, ev.RunPaused))
        engine.submit("approve")
        recorder.wait_for(
            lambda e: (
                (isinstance(e, ev.GateDecided) and e.by == "app")
                or (isinstance(e, ev.GateDecided) and e.by == "cli")
            )
        )
        import time

        time.sleep(0.3)
        assert not recorder.of(ev.TaskStarted)  # paused: implement has not begun
        engine.submit("resume")
        assert run.result() == "complete"


def test_an_invalid_plan_fails_parallel_with_every_error(tmp_path: Path) -> None:
    plan = "## A: a\ndepends: Z\n\n## A: again\n\n## B: b\nfoo: 1\n"
    workspace = make_workspace(tmp_path, plan)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder)
    engine.runners.pop(StageName.PLAN, None)  # the plan stage would catch it first
    with Background(engine) as run:
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        assert gate.stage == "parallel" and gate.failed
        finished = next(e for e in recorder.of(ev.StageFinished) if e.stage == "parallel")
        assert len(finished.evidence["errors"]) == 3
        (workspace / "PLAN.md").write_text(DIAMOND)
        engine.submit("retry")
        assert run.result() == "complete"


class CrashingRunner:
    def run(self, ctx):
        raise RuntimeError("boom")


class ReportingRunner:
    def run(self, ctx):
        return StageResult(ok=True, summary="2 high findings", blockers=("2 high findings",))


def test_a_crashing_stage_runner_fails_its_stage_not_the_engine(tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder)
    engine.runners[StageName.TEST] = CrashingRunner()
    engine.runners[StageName.SECURITY] = ReportingRunner()
    with Background(engine) as run:
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
        assert gate.stage == "security" and gate.blockers == ("2 high findings",)
        engine.submit("approve")
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened) and e.stage == "test")
        assert gate.failed and "RuntimeError: boom" in gate.summary
        engine.submit("skip")
        assert run.result() == "complete"
