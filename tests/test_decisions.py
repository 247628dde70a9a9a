"""The engine's rules as plain functions: no thread, no file, no clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_support import Background, Recorder, engine_for, make_workspace, sim_config

from orchestrator_tui.core import decisions
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.commands import Command
from orchestrator_tui.core.config import BudgetSettings
from orchestrator_tui.core.decisions import Attempt, CommandFacts
from orchestrator_tui.core.models import StageName, Task
from orchestrator_tui.core.protocols import AgentResult, MergeResult
from orchestrator_tui.core.state import RunState, apply

TASKS = [
    Task(id="A", title="a"),
    Task(id="B", title="b", depends=("A",)),
    Task(id="C", title="c", depends=("B",)),
]


def fold(*events: ev.EventBase, state: RunState | None = None) -> RunState:
    state = state or RunState()
    for seq, event in enumerate(events, start=state.last_seq + 1):
        state = apply(state, event.model_copy(update={"seq": seq, "at": float(seq)}))
    return state


def planned() -> RunState:
    return fold(
        ev.RunStarted(run_id="r", workspace="/w"),
        ev.PlanFrozen(tasks=TASKS, waves=[["A"], ["B"], ["C"]], critical_path=["A", "B", "C"]),
    )


def command(action: str, task: str = "", feedback: str = "") -> Command:
    return Command(id=f"{action}-{task}", action=action, task=task, feedback=feedback, by="cli")


def test_a_failed_attempt_with_retries_left_waits_out_a_growing_backoff() -> None:
    state = fold(ev.TaskStarted(task="A", attempt=2), state=planned())
    failed = Attempt("A", 2, 1.5, AgentResult(ok=False, reason="exit 1", exit_code=1))
    outcome = decisions.after_attempt(state, failed, ["B", "C"], 3, 0.5, False)
    assert outcome.retry_in == 1.0  # 0.5 * 2 ** (2 - 1)
    (finished,) = outcome.events
    assert isinstance(finished, ev.TaskFinished) and finished.will_retry
    assert finished.reason == "exit 1; retrying in 1 s" and not outcome.failed


def test_a_failure_without_retries_blocks_everything_downstream_with_its_cause() -> None:
    state = fold(ev.TaskStarted(task="A", attempt=1), state=planned())
    failed = Attempt("A", 1, 0.1, AgentResult(ok=False, reason="exit 2", exit_code=2))
    outcome = decisions.after_attempt(state, failed, ["B", "C"], 0, 0.5, False)
    kinds = [(type(e).__name__, getattr(e, "task", "")) for e in outcome.events]
    assert kinds == [("TaskFinished", "A"), ("TaskBlocked", "B"), ("TaskBlocked", "C")]
    assert outcome.failed == "exit 2" and outcome.retry_in is None
    assert all(e.cause == "A failed" for e in outcome.events[1:])  # type: ignore[attr-defined]


def test_a_budget_stop_or_a_task_budget_is_never_retried() -> None:
    state = fold(ev.TaskStarted(task="A", attempt=1), state=planned())
    result = AgentResult(ok=False, reason="cancelled")
    over = decisions.after_attempt(
        state, Attempt("A", 1, 1, result, budget_hit=True), [], 5, 1, False
    )
    assert over.retry_in is None and over.failed == "task budget reached"
    stopped = decisions.after_attempt(state, Attempt("A", 1, 1, result), [], 5, 1, True)
    assert stopped.retry_in is None


def test_a_merged_attempt_is_done_and_a_conflict_blocks_dependents() -> None:
    state = fold(ev.TaskStarted(task="A", attempt=1), state=planned())
    ok = AgentResult(ok=True, exit_code=0, session_id="s1")
    merged = Attempt("A", 1, 2.0, ok, merge=MergeResult(ok=True, commit="abc", files=("a.py",)))
    done = decisions.after_attempt(state, merged, ["B"], 0, 1, False)
    assert [type(e).__name__ for e in done.events] == ["TaskMerged", "TaskFinished"]
    assert done.events[1].status == "done" and done.events[1].files == ("a.py",)  # type: ignore[attr-defined]
    conflict = Attempt("A", 1, 2.0, ok, merge=MergeResult(ok=False, conflict_files=("a.py",)))
    kinds = [
        type(e).__name__
        for e in decisions.after_attempt(state, conflict, ["B"], 0, 1, False).events
    ]
    assert kinds == ["MergeConflict", "TaskFinished", "TaskBlocked"]
    broken = Attempt("A", 1, 2.0, ok, merge_error="index.lock exists")
    failed = decisions.after_attempt(state, broken, [], 0, 1, False)
    assert failed.failed == "merge failed: index.lock exists"


def test_skipping_a_running_task_stops_it_and_unblocks_at_once() -> None:
    state = fold(ev.TaskStarted(task="A", attempt=1), state=planned())
    facts = CommandFacts(implementing=True, running=frozenset({"A"}), plan_ids=frozenset("ABC"))
    answer = decisions.decide_command(state, command("skip", "A"), facts)
    assert answer.reply.ok and answer.reply.stop_tasks == ("A",)
    assert answer.events[0].status == "skipped"  # type: ignore[attr-defined]


def test_retry_is_refused_for_a_task_that_did_not_fail_and_clears_a_backoff_when_it_did() -> None:
    facts = CommandFacts(implementing=True, plan_ids=frozenset("ABC"))
    refused = decisions.decide_command(planned(), command("retry", "A"), facts)
    assert (
        not refused.reply.ok
        and refused.reply.message == "A is pending, not failed: nothing to retry"
    )
    failed = fold(
        ev.TaskStarted(task="A", attempt=1),
        ev.TaskFinished(task="A", status="failed", reason="x"),
        ev.TaskBlocked(task="B", cause="A failed"),
        state=planned(),
    )
    answer = decisions.decide_command(failed, command("retry", "A"), facts)
    assert answer.reply.clear_backoff == ("A",)
    assert [(e.kind, e.task) for e in answer.events] == [("task_reset", "A"), ("task_reset", "B")]  # type: ignore[attr-defined]


def test_retry_of_a_task_at_the_failed_implement_gate_reruns_the_stage() -> None:
    state = fold(
        ev.StageStarted(stage=StageName.IMPLEMENT, attempt=1),
        ev.TaskStarted(task="A", attempt=1),
        ev.TaskFinished(task="A", status="failed", reason="x"),
        ev.StageFinished(stage=StageName.IMPLEMENT, status="failed", summary="1 failed"),
        ev.GateOpened(stage=StageName.IMPLEMENT, failed=True),
        state=planned(),
    )
    answer = decisions.decide_command(state, command("retry", "A"), CommandFacts())
    assert answer.reply.gate == "retry"
    assert isinstance(answer.events[-1], ev.GateDecided) and answer.events[-1].decision == "retry"
    refused = decisions.decide_command(state, command("approve"), CommandFacts())
    assert refused.reply.message == "implement failed: retry, skip or cancel"


@pytest.mark.parametrize(
    ("action", "paused", "ok", "message"),
    [
        ("pause", False, True, "paused: no new stage or task starts"),
        ("pause", True, False, "already paused"),
        ("resume", False, False, "not paused"),
        ("approve", False, False, "nothing waits for approval; approve ignored"),
    ],
)
def test_pause_resume_and_gate_commands_answer_by_state(
    action: str, paused: bool, ok: bool, message: str
) -> None:
    state = planned()
    if paused:
        state = fold(ev.RunPaused(by="cli"), state=state)
    answer = decisions.decide_command(state, command(action), CommandFacts())
    assert (answer.reply.ok, answer.reply.message) == (ok, message)


def test_an_auto_gate_passes_unless_the_stage_failed_or_left_blockers() -> None:
    base = fold(ev.StageStarted(stage=StageName.SECURITY, attempt=1), state=planned())
    good = fold(ev.StageFinished(stage=StageName.SECURITY, status="done", summary="ok"), state=base)
    assert decisions.arrive_at_gate(good, StageName.SECURITY, auto=True).decision == "approve"
    blocked = fold(
        ev.StageFinished(
            stage=StageName.SECURITY, status="done", summary="1 high", blockers=("high",)
        ),
        state=base,
    )
    arrival = decisions.arrive_at_gate(blocked, StageName.SECURITY, auto=True)
    assert arrival.decision is None and arrival.opened
    assert isinstance(arrival.events[0], ev.GateOpened)


def test_budgets_stop_the_run_once_and_each_task_once() -> None:
    state = fold(
        ev.TaskStarted(task="A", attempt=1),
        ev.TaskUsage(task="A", input_tokens=900, output_tokens=200, cost_usd=0.5),
        state=planned(),
    )
    budget = BudgetSettings(usd=0.4, task_tokens=1000)
    check = decisions.check_budget(state, budget, {"A": False}, budget_stopped=False)
    assert check.stop_run and check.stop_tasks == ("A",)
    assert [e.scope for e in check.events] == ["run", "task A"]  # type: ignore[attr-defined]
    again = decisions.check_budget(state, budget, {"A": True}, budget_stopped=True)
    assert again.events == () and not again.stop_run


SLOW = """
[tasks.A]
duration = 30.0
"""


def test_skipping_a_running_task_answers_at_once_without_blocking_the_engine(
    tmp_path: Path,
) -> None:
    workspace = make_workspace(tmp_path, script=SLOW)
    recorder = Recorder()
    config = sim_config(
        SLOW, agents={"sim": {"backend": "simulated", "speed": 1.0, "script": "sim.toml"}}
    )
    engine = engine_for(workspace, config, recorder)
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.TaskStarted) and e.task == "A")
        engine.submit("skip", task="A")
        answer = recorder.wait_for(lambda e: isinstance(e, ev.CommandApplied), timeout=5)
        assert answer.ok and answer.message == "A skipped; its dependents may run"  # type: ignore[attr-defined]
        assert run.result(timeout=20) == "complete"
    finished = {e.task: e.status for e in recorder.of(ev.TaskFinished)}
    assert finished == {"A": "skipped", "B": "done", "C": "done", "D": "done"}
