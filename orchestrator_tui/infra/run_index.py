"""The workspace's runs as they are on disk: `.orchestrator/runs/<id>/events.jsonl` each.

`read_run` folds one run's log (a torn last line, garbage lines and an event that cannot be
folded become warnings, never an exception); `list_runs` summarises every run, newest
first (core/run_summary.py says how). A run whose log cannot be read at all is still
listed, as unreadable, with the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..core.events import EventBase
from ..core.run_summary import RunSummary, summarize
from ..core.state import RunState, apply
from .session import lock_is_stale, read_lock
from .store import RunFiles, read_events, runs_dir


@dataclass
class RunRecord:
    """One run's log, read and folded: the events that folded, the final state."""

    files: RunFiles
    events: list[EventBase] = field(default_factory=list)
    state: RunState = field(default_factory=RunState)
    warnings: list[str] = field(default_factory=list)
    title: str = ""  # the frozen plan's title (plan.json), when it has one


def read_run(files: RunFiles) -> RunRecord:
    """Read and fold a run's log. Never raises for what is in the file."""
    record = RunRecord(files)
    path = files.events
    try:
        size = path.stat().st_size
        read = read_events(path)
    except OSError as exc:
        record.warnings.append(f"cannot read {path.name}: {exc.strerror or exc}")
        return record
    record.warnings.extend(read.warnings)
    if size > read.valid_bytes:
        record.warnings.append(f"{path.name}: ignored a torn last line (the log ends mid-event)")
    if read.unknown:
        record.warnings.append(f"{path.name}: {read.unknown} events of a newer version skipped")
    state = RunState()
    for number, event in enumerate(read.events):
        try:
            state = apply(state, event)
        except Exception as exc:  # a line that parsed but does not fit this run: stop here
            record.warnings.append(
                f"{path.name}: stopped at event {number + 1} ({event.kind}): "
                f"{type(exc).__name__}: {exc}"
            )
            break
        record.events.append(event)
    record.state = state
    record.title = plan_title(files)
    return record


def plan_title(files: RunFiles) -> str:
    """The title of the run's frozen plan, or "" (no plan.json yet, or unreadable)."""
    try:
        data = json.loads(files.frozen_plan.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    title = data.get("title") if isinstance(data, dict) else ""
    return title if isinstance(title, str) else ""


def run_ids(workspace: Path) -> list[str]:
    """Every run directory that has an event log, oldest first (IDs sort by time)."""
    root = runs_dir(workspace)
    try:
        return sorted(p.name for p in root.iterdir() if (p / "events.jsonl").is_file())
    except OSError:
        return []


def live_run(workspace: Path) -> str:
    """The run an engine holds the workspace lock for now, or ""."""
    holder = read_lock(workspace)
    if holder is None or lock_is_stale(holder) is not None:
        return ""
    return holder.run_id


def summarize_record(record: RunRecord, live: str = "") -> RunSummary:
    return summarize(
        record.files.run_id,
        record.state,
        events=len(record.events),
        warnings=tuple(record.warnings),
        title=record.title,
        live=bool(live) and live == record.files.run_id,
    )


def list_runs(workspace: Path) -> list[RunSummary]:
    """A summary of each run of the workspace, newest first."""
    live = live_run(workspace)
    return [
        summarize_record(read_run(RunFiles(workspace, run_id)), live)
        for run_id in reversed(run_ids(workspace))
    ]
