"""Recorded runs written to disk as the engine writes them (infra/store.py RunStore), for
the tests of `orchestrator-tui runs`, the past-runs screen and the timeline."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path

from app_support import RUN_ID, T0, TASKS, WORKSPACE, mid_implement, passed, stamped

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName
from orchestrator_tui.infra.store import RunFiles, RunStore

OLD_RUN = "20231113-090000-0a0a"  # a day before RUN_ID: the older of the two
TEST_EVIDENCE = {"ran": True, "command": "pytest -q", "passed": 41, "failed": 2, "errors": 0}
SECURITY_EVIDENCE = {"total": 3, "counts": {"high": 1, "medium": 0, "low": 2}}


def write_run(workspace: Path, run_id: str, events: Iterable[ev.EventBase]) -> RunFiles:
    """The run's events.jsonl (and state.json) as the engine would leave them."""
    files = RunFiles(workspace, run_id)
    store = RunStore(files)
    for event in stamped(events):
        store.emit(event)
    store.close()
    return files


def finished_run(run_id: str = OLD_RUN, start: float = T0 - 86_400.0) -> list[ev.EventBase]:
    """A whole run: every stage, seven tasks (one skipped), tests 41/2, three findings,
    failed at the test gate by a reject… then complete."""
    t = start
    out: list[ev.EventBase] = [
        ev.RunStarted(run_id=run_id, workspace=WORKSPACE, goal="Add user accounts", at=t),
        *passed(StageName.ANALYZE, t + 1, "42 files"),
        *passed(StageName.PLAN, t + 7, "7 tasks"),
        ev.StageStarted(stage=StageName.PARALLEL, at=t + 14),
        ev.PlanFrozen(tasks=TASKS, waves=[["T1"]], critical_path=["T1"], at=t + 15),
        ev.StageFinished(stage=StageName.PARALLEL, status="done", summary="7 tasks", at=t + 15),
        ev.GateDecided(stage=StageName.PARALLEL, decision="approve", by="app", at=t + 16),
        ev.StageStarted(stage=StageName.IMPLEMENT, at=t + 17),
    ]
    for n, task in enumerate(TASKS):
        at = t + 20 + 10 * n
        if task.id == "T5":
            out.append(ev.TaskFinished(task="T5", status="skipped", reason="by app", at=at))
            continue
        out += [
            ev.TaskStarted(task=task.id, agent="claude", at=at),
            ev.TaskUsage(task=task.id, input_tokens=1000, output_tokens=200, cost_usd=0.1, at=at),
            ev.TaskMerged(task=task.id, commit=f"c0ffee{n}", at=at + 5),
            ev.TaskFinished(task=task.id, status="done", exit_code=0, duration=5, at=at + 5),
        ]
    t += 100
    out += [
        ev.StageFinished(stage=StageName.IMPLEMENT, status="done", summary="6 done", at=t),
        ev.GateDecided(stage=StageName.IMPLEMENT, decision="approve", by="auto", at=t),
        ev.StageStarted(stage=StageName.SECURITY, at=t + 1),
        ev.StageFinished(
            stage=StageName.SECURITY,
            status="done",
            summary="3 new findings",
            evidence=SECURITY_EVIDENCE,
            blockers=("1 new high-severity finding",),
            at=t + 5,
        ),
        ev.GateOpened(stage=StageName.SECURITY, summary="3 new findings", at=t + 5),
        ev.GateDecided(stage=StageName.SECURITY, decision="approve", by="cli", at=t + 30),
        ev.StageStarted(stage=StageName.TEST, at=t + 31),
        ev.StageFinished(
            stage=StageName.TEST,
            status="failed",
            summary="41 passed, 2 failed",
            evidence=TEST_EVIDENCE,
            at=t + 60,
        ),
        ev.GateOpened(stage=StageName.TEST, failed=True, summary="41 passed, 2 failed", at=t + 60),
        ev.GateDecided(stage=StageName.TEST, decision="approve", by="app", at=t + 90),
    ]
    for n, stage in enumerate((StageName.CLEANUP, StageName.REVIEW, StageName.COMPLETE)):
        out += passed(stage, t + 100 + 10 * n, f"{stage.value} done")
    out.append(ev.RunFinished(outcome="complete", reason="all stages passed", at=t + 135))
    return out


def two_runs(workspace: Path) -> tuple[RunFiles, RunFiles]:
    """An older finished run and RUN_ID, stopped mid-implement."""
    old = write_run(workspace, OLD_RUN, finished_run())
    new = write_run(workspace, RUN_ID, mid_implement())
    return old, new


def hold_lock(workspace: Path, run_id: str) -> None:
    """A lock as a live engine keeps it: this process's pid, a fresh heartbeat."""
    now = time.time()
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": run_id,
        "started_at": now,
        "heartbeat_at": now,
    }
    (workspace / ".orchestrator" / "lock").write_text(json.dumps(info), encoding="utf-8")


__all__ = ["OLD_RUN", "RUN_ID", "finished_run", "hold_lock", "two_runs", "write_run"]
