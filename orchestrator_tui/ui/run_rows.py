"""A run's row as the shell's `orchestrator-tui runs` and the app's past-runs screen show
it: the same columns, the same words (core/run_summary.py says what; this says how)."""

from __future__ import annotations

import time

from ..core.run_summary import (
    RunSummary,
    findings_text,
    outcome_text,
    tasks_text,
    tests_text,
)
from .view import fmt_cost, fmt_duration, shorten

HEADERS = ("RUN", "STARTED", "TOOK", "OUTCOME", "TASKS", "TESTS", "FINDINGS", "COST", "GOAL")
GOAL_WIDTH = 40


def started_text(summary: RunSummary) -> str:
    if not summary.started_at:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.started_at))


def row(summary: RunSummary, goal_width: int = GOAL_WIDTH) -> tuple[str, ...]:
    if summary.outcome == "unreadable":
        return (summary.run_id, "—", "—", "unreadable", "—", "—", "—", "—", "—")
    return (
        summary.run_id,
        started_text(summary),
        fmt_duration(summary.duration) if summary.started_at else "—",
        outcome_text(summary),
        tasks_text(summary),
        tests_text(summary),
        findings_text(summary),
        fmt_cost(summary.cost_usd),
        shorten(summary.goal, goal_width) or "—",
    )
