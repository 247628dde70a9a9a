"""One line about a run, for `orchestrator-tui runs` and the past-runs screen.

Pure: a folded RunState (plus what the reader saw: warnings, whether an engine holds the
run) in, a RunSummary out. The reading of the logs is infra/run_index.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .models import StageName, StageStatus, TaskStatus
from .state import RunState


@dataclass(frozen=True)
class RunSummary:
    """What the runs list shows of one run. `outcome` is complete, failed, cancelled or
    aborted for a finished run; running or waiting while an engine holds it; stopped
    (resumable) otherwise; unreadable when its log gave nothing to fold."""

    run_id: str
    goal: str = ""
    started_at: float = 0.0
    duration: float = 0.0
    outcome: str = "unreadable"
    reason: str = ""
    stage: str = ""  # the stage at work or waiting, for a run that is not finished
    tasks_done: int = 0
    tasks_total: int = 0
    tests: dict[str, int] | None = None  # passed, failed, errors, skipped; None: none ran
    findings: int | None = None  # security findings on the run's lines; None: no scan
    findings_counts: dict[str, int] = field(default_factory=dict)
    cost_usd: float = 0.0
    tokens: int = 0
    events: int = 0
    warnings: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.outcome in FINISHED

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data


FINISHED = frozenset({"complete", "failed", "cancelled", "aborted"})


def summarize(
    run_id: str,
    state: RunState,
    *,
    events: int,
    warnings: tuple[str, ...] = (),
    title: str = "",
    live: bool = False,
) -> RunSummary:
    """The summary of a run whose log folded to `state` (`events` of them). `title`: its
    plan's, said when the run has no goal of its own. `live`: an engine holds the
    workspace lock for this run now."""
    if not events:
        reason = warnings[0] if warnings else "no event in the log"
        return RunSummary(run_id=run_id, outcome="unreadable", reason=reason, warnings=warnings)
    stage = state.current_stage
    if state.finished:
        outcome, reason, where = state.outcome, state.outcome_reason, ""
    elif live:
        outcome = "waiting" if state.gate is not None else "running"
        reason, where = "", stage.value if stage else ""
    else:
        outcome = "stopped"
        reason = "the engine is not running; `orchestrator-tui run` resumes it"
        where = stage.value if stage else ""
    started = state.started_at
    return RunSummary(
        run_id=state.run_id or run_id,
        goal=state.goal or title,
        started_at=started,
        duration=max(0.0, state.updated_at - started) if started else 0.0,
        outcome=outcome,
        reason=reason,
        stage=where,
        tasks_done=state.count(TaskStatus.DONE),
        tasks_total=len(state.tasks),
        tests=test_counts(state),
        findings=finding_total(state),
        findings_counts=finding_counts(state),
        cost_usd=state.cost_usd,
        tokens=state.input_tokens + state.output_tokens,
        events=events,
        warnings=warnings,
    )


def stage_evidence(state: RunState, stage: StageName) -> dict[str, Any]:
    record = state.stages[stage]
    if record.status in (StageStatus.PENDING, StageStatus.RUNNING):
        return {}
    return record.evidence or {}


def test_counts(state: RunState) -> dict[str, int] | None:
    evidence = stage_evidence(state, StageName.TEST)
    if not evidence.get("ran") or "passed" not in evidence:
        return None
    return {k: int(evidence.get(k) or 0) for k in ("passed", "failed", "errors", "skipped")}


def finding_total(state: RunState) -> int | None:
    evidence = stage_evidence(state, StageName.SECURITY)
    if "total" not in evidence:
        return None
    return int(evidence.get("total") or 0)


def finding_counts(state: RunState) -> dict[str, int]:
    counts = stage_evidence(state, StageName.SECURITY).get("counts") or {}
    return {str(k): int(v) for k, v in counts.items() if v} if isinstance(counts, dict) else {}


# ---- how the list says it ------------------------------------------------------------------


def tests_text(summary: RunSummary) -> str:
    """`12 passed`, `10 passed, 2 failed`, or `—` when no test ran."""
    tests = summary.tests
    if tests is None:
        return "—"
    failed = tests["failed"] + tests["errors"]
    return f"{tests['passed']} passed" + (f", {failed} failed" if failed else "")


def findings_text(summary: RunSummary) -> str:
    """`0`, `1 (medium)`, `3 (1 high, 2 low)`, or `—` when there was no scan."""
    if summary.findings is None:
        return "—"
    counts = summary.findings_counts
    if not summary.findings or not counts:
        return str(summary.findings)
    order = ("critical", "high", "medium", "low")
    named = sorted(counts, key=lambda k: order.index(k) if k in order else len(order))
    if len(named) == 1:
        return f"{summary.findings} ({named[0]})"
    return f"{summary.findings} (" + ", ".join(f"{counts[k]} {k}" for k in named) + ")"


def outcome_text(summary: RunSummary) -> str:
    """`complete`, `failed`, `waiting · security`, `stopped · implement`…"""
    return f"{summary.outcome} · {summary.stage}" if summary.stage else summary.outcome


def tasks_text(summary: RunSummary) -> str:
    return f"{summary.tasks_done}/{summary.tasks_total}" if summary.tasks_total else "—"
