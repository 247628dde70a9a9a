"""The fault-injection sweep's deterministic subset (issue 12; the whole sweep is
bench/crash_sweep.py): a three-task copy of the demo killed at one point per bug and at a
spread of event boundaries, git leftovers planted, resumed, and compared with an
uninterrupted run (tests/sweep_support.py says what must be identical).

One case per bug: A MERGE_HEAD, B a lock in the run checkout, C a ref lock, D a half-created
run checkout, E killed before cleanup's commit, F a lock on the user's branch, G killed
after a task's merge, H after run_finished, I while pytest runs (nothing may be left
running), J the run checkout deleted, L killed while the parallel gate waits for a person
(the resume's --approve all decides it). K, the demo's own set-up: tests/test_crash_demo.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_support import (
    KillPoint,
    Reference,
    gate_waiting,
    make_project,
    reference,
    run_case,
    summary,
)
from test_decisions import fold, planned

from orchestrator_tui.core import decisions
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.decisions import Attempt
from orchestrator_tui.core.protocols import AgentResult


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Reference]:
    root = tmp_path_factory.mktemp("sweep")
    template = make_project(root / "template", tasks=3)
    return template, root, reference(template, root)


def points(ref: Reference) -> dict[str, KillPoint]:
    first_merge = ref.seq_of("task_merged")
    implement_done = ref.seq_of("stage_finished", stage="implement")
    before_complete = ref.seq_of("stage_started", stage="complete")
    cases = [
        KillPoint("A MERGE_HEAD", event=first_merge, plant="MERGE_HEAD"),
        KillPoint("B index.lock in _run", event=first_merge, plant="_run/index.lock"),
        KillPoint("C task ref lock", event=first_merge, plant="task ref lock"),
        KillPoint("D half-created _run", event=before_complete, plant="half-created _run"),
        KillPoint(
            "E before cleanup's commit", git_at=ref.git_call("commit", -1), git_when="before"
        ),
        KillPoint("F main.lock", event=before_complete, plant="main.lock"),
        KillPoint("G after a merge", git_at=ref.git_call("merge", 1)),
        KillPoint("H after run_finished", event=len(ref.kinds)),
        KillPoint(
            "I while pytest runs", event=ref.seq_of("stage_started", stage="test"), delay=0.6
        ),
        KillPoint("J deleted _run", event=implement_done, plant="deleted _run"),
        gate_waiting(ref),
        KillPoint("event: a failing attempt's usage", event=ref.seq_of("task_usage", 2)),
        KillPoint("event: cleanup finished", event=ref.seq_of("stage_finished", stage="cleanup")),
    ]
    return {point.name: point for point in cases}


NAMES = [
    "A MERGE_HEAD", "B index.lock in _run", "C task ref lock", "D half-created _run",
    "E before cleanup's commit", "F main.lock", "G after a merge", "H after run_finished",
    "I while pytest runs", "J deleted _run", "gate parallel waiting",
    "event: a failing attempt's usage", "event: cleanup finished",
]  # fmt: skip


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", NAMES)
def test_killed_and_resumed_ends_as_an_uninterrupted_run(
    sweep: tuple[Path, Path, Reference], name: str
) -> None:
    template, root, ref = sweep
    outcome = run_case(template, root, points(ref)[name], ref)
    assert outcome.killed, f"{name}: the run ended before the kill point"
    assert outcome.identical, summary([outcome])


def test_an_interrupted_attempt_runs_again_under_its_number_and_uses_up_no_retry() -> None:
    """Found by the sweep (a kill after T3's failing first attempt reported its usage): the
    resumed run counted the killed attempt as one of the task's tries."""
    running = fold(ev.TaskStarted(task="A", attempt=1), state=planned())
    resets = decisions.resets_for_stage(running, {"A", "B", "C"}, "")
    assert [(type(e).__name__, getattr(e, "interrupted", None)) for e in resets] == [
        ("TaskReset", True)
    ]
    again = fold(*resets, state=running)
    assert again.tasks["A"].attempt == 0  # the next start is attempt 1 again
    rerun = fold(ev.TaskStarted(task="A", attempt=1), state=again)
    failed = Attempt("A", 1, 0.1, AgentResult(ok=False, reason="exit 1", exit_code=1))
    outcome = decisions.after_attempt(rerun, failed, ["B", "C"], 1, 0.5, False)
    assert outcome.retry_in == 0.5  # its one retry is still there
    stage_retry = fold(ev.TaskFinished(task="A", status="failed", attempt=1), state=rerun)
    reset = fold(ev.TaskReset(task="A", reason="retry requested"), state=stage_retry)
    assert reset.tasks["A"].attempt == 1  # other resets keep counting
