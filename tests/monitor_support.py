"""Recorded runs for the monitor tests: event logs, task logs and lock files on disk, with
fixed times so that elapsed times and heartbeat ages are the same on every machine."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, Task
from orchestrator_tui.infra.session import LockInfo, lock_path
from orchestrator_tui.infra.store import RunFiles, orchestrator_dir

T0 = 1_700_000_000.0
NOW = T0 + 200.0  # the frozen clock of every picture
RUN_ID = "20231114-221320-ab12"
ENGINE_PID = 4242
ELSEWHERE = "build-box"  # a host that is not this one: only the heartbeat age counts

TASKS = (
    Task(id="T1", title="User model", files=("src/models/user.py",)),
    Task(id="T2", title="REST endpoints", depends=("T1",), files=("src/api/users.py",)),
    Task(id="T3", title="Login page", depends=("T1",), files=("src/web/login.py",)),
    Task(id="T4", title="Password hashing", depends=("T1",), files=("src/auth/hash.py",)),
    Task(id="T5", title="Settings", depends=("T1",), files=("src/settings.py",)),
    Task(id="T6", title="Docs", depends=("T2", "T3", "T4"), files=("docs/users.md",)),
    Task(id="T7", title="Release notes", depends=("T6",), files=("CHANGES.md",)),
)


def stamped(events: Iterable[ev.EventBase], start_seq: int = 1) -> list[ev.EventBase]:
    """Sequence numbers in order; each event keeps the `at` it was given."""
    return [e.model_copy(update={"seq": start_seq + n}) for n, e in enumerate(events)]


def passed_stage(stage: StageName, at: float, summary: str, by: str = "auto") -> list:
    return [
        ev.StageStarted(stage=stage, at=at),
        ev.StageFinished(stage=stage, status="done", summary=summary, at=at + 5),
        ev.GateDecided(stage=stage, decision="approve", by=by, at=at + 6),  # type: ignore[arg-type]
    ]


def opening() -> list[ev.EventBase]:
    """Analyze, plan and parallel passed; implement has started."""
    return [
        ev.RunStarted(run_id=RUN_ID, workspace="/work/shop", pid=ENGINE_PID, at=T0),
        *passed_stage(StageName.ANALYZE, T0 + 1, "42 files, Python 3.12, pytest"),
        *passed_stage(StageName.PLAN, T0 + 8, "adopted PLAN.md: 7 tasks", by="app"),
        ev.StageStarted(stage=StageName.PARALLEL, at=T0 + 15),
        ev.PlanFrozen(
            tasks=TASKS,
            waves=[["T1"], ["T2", "T3", "T4", "T5"], ["T6"], ["T7"]],
            critical_path=["T1", "T2", "T6", "T7"],
            at=T0 + 16,
        ),
        ev.StageFinished(
            stage=StageName.PARALLEL, status="done", summary="7 tasks, 4 waves", at=T0 + 16
        ),
        ev.GateDecided(stage=StageName.PARALLEL, decision="approve", by="monitor", at=T0 + 20),
        ev.StageStarted(stage=StageName.IMPLEMENT, at=T0 + 21),
    ]


def implementing() -> list[ev.EventBase]:
    """Mid-implement: two agents at work, one failure, a conflict, a blocked task."""
    return stamped(
        [
            *opening(),
            ev.TaskStarted(task="T1", agent="claude", at=T0 + 22),
            ev.TaskUsage(
                task="T1", input_tokens=8000, output_tokens=1500, cost_usd=0.05, at=T0 + 60
            ),
            ev.TaskFinished(task="T1", status="done", exit_code=0, at=T0 + 61),
            ev.TaskMerged(task="T1", commit="1a2b3c4", at=T0 + 62),
            ev.TaskStarted(task="T2", agent="claude", at=T0 + 63),
            ev.TaskStarted(task="T3", agent="codex", at=T0 + 63),
            ev.TaskStarted(task="T4", agent="claude", at=T0 + 63),
            ev.TaskStarted(task="T5", agent="claude", at=T0 + 64),
            ev.TaskFinished(task="T5", status="done", exit_code=0, at=T0 + 90),
            ev.MergeConflict(task="T5", files=("src/settings.py",), at=T0 + 91),
            ev.TaskUsage(
                task="T2", input_tokens=12000, output_tokens=3000, cost_usd=0.084, at=T0 + 120
            ),
            ev.TaskFinished(
                task="T4",
                status="failed",
                exit_code=2,
                reason="tests failed: 3 of 12 in test_hash.py",
                at=T0 + 140,
            ),
            ev.TaskBlocked(task="T6", cause="T4 failed", at=T0 + 140),
            ev.Notice(level="warning", text="budget: 80% of $1.00 spent", at=T0 + 150),
        ]
    )


def waiting_at_review() -> list[ev.EventBase]:
    """Everything through test; review found scope creep and waits for a person."""
    events: list[ev.EventBase] = [*opening()]
    for number, task in enumerate(TASKS):
        at = T0 + 22 + number * 10
        events += [
            ev.TaskStarted(task=task.id, agent="claude", at=at),
            ev.TaskUsage(
                task=task.id, input_tokens=6000, output_tokens=1000, cost_usd=0.04, at=at + 8
            ),
            ev.TaskFinished(task=task.id, status="done", exit_code=0, at=at + 9),
            ev.TaskMerged(task=task.id, at=at + 9),
        ]
    events += [
        ev.StageFinished(
            stage=StageName.IMPLEMENT, status="done", summary="7 tasks done", at=T0 + 95
        ),
        ev.GateDecided(stage=StageName.IMPLEMENT, decision="approve", by="app", at=T0 + 96),
        *passed_stage(StageName.SECURITY, T0 + 97, "no findings"),
        *passed_stage(StageName.TEST, T0 + 104, "48 passed"),
        ev.StageStarted(stage=StageName.CLEANUP, at=T0 + 111),
        ev.StageFinished(
            stage=StageName.CLEANUP, status="skipped", summary="no changes", at=T0 + 112
        ),
        ev.GateDecided(stage=StageName.CLEANUP, decision="approve", by="auto", at=T0 + 112),
        ev.StageStarted(stage=StageName.REVIEW, at=T0 + 113),
        ev.StageFinished(
            stage=StageName.REVIEW,
            status="done",
            summary="all 7 tasks done; 2 touched files outside their plan",
            blockers=("T3 changed src/settings.py", "T6 changed README.md"),
            at=T0 + 140,
        ),
        ev.GateOpened(
            stage=StageName.REVIEW,
            summary="all 7 tasks done; 2 touched files outside their plan",
            blockers=("T3 changed src/settings.py", "T6 changed README.md"),
            at=T0 + 141,
        ),
    ]
    return stamped(events)


def write_events(files: RunFiles, events: Sequence[ev.EventBase], extra: str = "") -> None:
    """Append events as the engine does (one JSON line each), then `extra` verbatim."""
    files.dir.mkdir(parents=True, exist_ok=True)
    with files.events.open("a", encoding="utf-8") as handle:
        for event in events:
            handle.write(ev.dump_event(event) + "\n")
        handle.write(extra)


def write_task_log(files: RunFiles, task_id: str, lines: Sequence[str]) -> None:
    path = files.log(task_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def write_lock(
    workspace: Path,
    heartbeat_at: float,
    pid: int = ENGINE_PID,
    host: str = ELSEWHERE,
    run_id: str = RUN_ID,
) -> None:
    orchestrator_dir(workspace).mkdir(parents=True, exist_ok=True)
    info = LockInfo(pid=pid, host=host, run_id=run_id, started_at=T0, heartbeat_at=heartbeat_at)
    lock_path(workspace).write_text(info.model_dump_json(), encoding="utf-8")


def recorded_implementing(workspace: Path) -> RunFiles:
    """A run mid-implement, its engine alive (heartbeat 1 s before the frozen clock)."""
    files = RunFiles(workspace, RUN_ID)
    write_events(files, implementing())
    write_task_log(files, "T2", ["[claude] reading src/api/users.py", "Editing src/api/users.py"])
    write_task_log(files, "T3", ["Running pytest tests/test_login.py -q"])
    write_lock(workspace, heartbeat_at=NOW - 1)
    return files


def recorded_review_gate(workspace: Path) -> RunFiles:
    """A run waiting at review whose engine died 42 s ago; its log has a garbage line and
    an event from a newer version."""
    files = RunFiles(workspace, RUN_ID)
    events = waiting_at_review()
    write_events(files, events[:5], extra="this is not JSON\n")
    write_events(files, events[5:], extra='{"kind": "hologram_projected", "seq": 999}\n')
    write_lock(workspace, heartbeat_at=NOW - 42)
    return files


def this_host_lock(workspace: Path, pid: int, heartbeat_at: float) -> None:
    write_lock(workspace, heartbeat_at, pid=pid, host=socket.gethostname())


def dead_pid() -> int:
    """A pid that no process has (the largest pids are free on a test machine)."""
    for pid in range(4_194_000, 4_194_304):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise RuntimeError("no free pid found")
