"""core/timeline.py: the state after any event of a run's log, the milestones to jump to,
and one plain line for each event."""

from __future__ import annotations

import random

from app_support import T0, mid_implement, stamped
from runs_support import finished_run

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.state import RunState, replay
from orchestrator_tui.core.timeline import CHECKPOINT, Timeline, is_milestone, what_happened


def long_run() -> list[ev.EventBase]:
    """A finished run with ~3 checkpoints' worth of usage events in its implement stage."""
    events = finished_run()
    at = events[20].at
    usage = [
        ev.TaskUsage(task="T1", input_tokens=n, output_tokens=1, cost_usd=0.001, at=at)
        for n in range(CHECKPOINT * 3)
    ]
    return stamped([*events[:20], *usage, *events[20:]])


def test_the_state_at_each_position_is_the_fold_of_the_events_before_it() -> None:
    events = long_run()
    timeline = Timeline(events)
    assert timeline.end == len(events)
    positions = list(range(timeline.end + 1))
    random.Random(7).shuffle(positions)  # backwards, forwards, across checkpoints
    for position in [*positions[:80], 0, timeline.end, 1, CHECKPOINT, CHECKPOINT + 1]:
        assert timeline.state_at(position) == replay(events[:position]), position


def test_stepping_forward_folds_one_event() -> None:
    events = long_run()
    timeline = Timeline(events)
    previous = timeline.state_at(CHECKPOINT - 3)
    for position in range(CHECKPOINT - 2, CHECKPOINT + 5):
        state = timeline.state_at(position)
        assert state.last_seq == events[position - 1].seq
        assert state is not previous
        previous = state
    assert timeline.state_at(0) == RunState()


def test_output_events_are_not_on_the_timeline() -> None:
    events = stamped(mid_implement())
    timeline = Timeline(events)
    assert all(e.persisted for e in timeline.events)
    assert timeline.end == sum(1 for e in events if e.persisted) < len(events)
    assert timeline.state_at(timeline.end).last_seq == events[-1].seq


def test_milestones_are_stage_starts_gates_failures_and_the_ends() -> None:
    events = stamped(finished_run())
    timeline = Timeline(events)
    kinds = [timeline.events[m - 1] for m in timeline.milestones]
    assert isinstance(kinds[0], ev.RunStarted) and isinstance(kinds[-1], ev.RunFinished)
    starts = [e.stage for e in kinds if isinstance(e, ev.StageStarted)]
    assert starts == list(StageName)
    gates = [e.stage for e in kinds if isinstance(e, ev.GateOpened)]
    assert gates == [StageName.SECURITY, StageName.TEST]
    failed = [e for e in kinds if isinstance(e, ev.StageFinished)]
    assert [e.stage for e in failed] == [StageName.TEST]  # only the failed stage's end
    assert not is_milestone(ev.TaskFinished(task="T1", status="done"))
    assert is_milestone(ev.TaskFinished(task="T1", status="failed", reason="exit 1"))


def test_jumps_between_milestones_and_to_the_ends() -> None:
    timeline = Timeline(stamped(finished_run()))
    first, second = timeline.milestones[:2]
    assert timeline.next_milestone(0, 1) == first
    assert timeline.next_milestone(first, 1) == second
    assert timeline.next_milestone(second, -1) == first
    assert timeline.next_milestone(first, -1) == 0
    assert timeline.next_milestone(timeline.end, 1) == timeline.end
    assert timeline.clamp(-5) == 0 and timeline.clamp(10**6) == timeline.end


def test_time_and_position() -> None:
    events = stamped(finished_run(start=T0))
    timeline = Timeline(events)
    assert timeline.time_at(0) == T0 == timeline.time_at(1)
    gate = next(n for n, e in enumerate(events, 1) if isinstance(e, ev.GateOpened))
    assert timeline.position_at_time(events[gate - 1].at) >= gate
    assert timeline.position_at_time(T0 - 1) == 0


def test_what_happened_in_one_line() -> None:
    said = [
        (ev.RunStarted(run_id="r", workspace="/w"), "run started"),
        (ev.StageStarted(stage=StageName.TEST, attempt=2), "Test started (run 2)"),
        (
            ev.StageFinished(stage=StageName.SECURITY, status="done", summary="3 new findings"),
            "Security done: 3 new findings",
        ),
        (ev.GateOpened(stage=StageName.TEST, failed=True), "Test failed, waits for a decision"),
        (
            ev.GateDecided(stage=StageName.REVIEW, decision="approve", by="app"),
            "Review: approve by app",
        ),
        (ev.TaskStarted(task="T3", agent="codex", attempt=2), "T3 started on codex (attempt 2)"),
        (
            ev.TaskFinished(task="T4", status="failed", reason="exit 1", will_retry=True),
            "T4 failed: exit 1, will retry",
        ),
        (ev.TaskFinished(task="T1", status="done", reason="ok"), "T1 done"),
        (
            ev.RunFinished(outcome="complete", reason="all stages passed"),
            "run complete: all stages passed",
        ),
        (ev.PlanReloaded(error="line 4: no title"), "PLAN.md invalid: line 4: no title"),
    ]
    for event, line in said:
        assert what_happened(event) == line
