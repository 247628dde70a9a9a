"""Resume means resume (issue 12, H and L): `--resume` after the run finished reports it and
starts nothing; a gate left waiting by a killed run is decided by the new process's
`--approve`, and the gate it waits at is printed."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from test_headless_ci import finish, run, start, waits_at, workspace

from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.store import RunFiles, latest_run_id, read_events

LATER = "parallel,implement,security,test,cleanup,review,complete"


def runs(ws: Path) -> list[str]:
    return sorted(p.name for p in (ws / ".orchestrator" / "runs").iterdir() if p.is_dir())


def test_h_resume_after_the_run_finished_reports_it_and_starts_no_new_run(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path / "ws")
    assert run(ws, "--approve", "all").returncode == 0
    (run_id,) = runs(ws)
    log = RunFiles(ws, run_id).events.read_bytes()
    again = run(ws, "--resume", "--approve", "all")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"run {run_id} already finished: complete" in again.stderr
    assert runs(ws) == [run_id]  # no run #2, nothing ran again
    assert RunFiles(ws, run_id).events.read_bytes() == log
    fresh = run(ws, "--new", "--approve", "all")
    assert fresh.returncode == 0, fresh.stderr
    assert len(runs(ws)) == 2
    both = run(ws, "--new", "--resume")
    assert both.returncode == 2 and "--new" in both.stderr


def test_h_killed_right_after_run_finished_a_resume_redoes_nothing(tmp_path: Path) -> None:
    """The log holds run_finished but the process died before it released its lock."""
    ws = workspace(tmp_path / "ws")
    process = start(ws, "--approve", "all")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run_id = latest_run_id(ws)
        events = read_events(RunFiles(ws, run_id).events).events if run_id else []
        if any(isinstance(e, ev.RunFinished) for e in events):
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    finish(process)
    (run_id,) = runs(ws)
    again = run(ws, "--resume", "--approve", "all")
    assert again.returncode == 0, again.stderr
    assert runs(ws) == [run_id]
    started = [e for e in read_events(RunFiles(ws, run_id).events).events
               if isinstance(e, ev.TaskStarted)]  # fmt: skip
    assert sorted(e.task for e in started) == ["T1", "T2"]


def test_l_a_gate_left_waiting_by_a_killed_run_is_decided_by_the_new_approve(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path / "ws")
    process = start(ws, "--on-gate", "wait", "--approve", "plan")
    waits_at(ws, "parallel", process)
    process.send_signal(signal.SIGKILL)
    finish(process)
    resumed = run(ws, "--resume", "--approve", "all")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "took over the lock" in resumed.stdout
    events = read_events(RunFiles(ws, latest_run_id(ws) or "").events).events
    decided = [e for e in events if isinstance(e, ev.GateDecided) and e.stage.value == "parallel"]
    assert [(e.decision, e.by) for e in decided] == [("approve", "auto")]


def test_l_a_resumed_gate_that_still_needs_a_person_is_printed_and_ends_ci_mode(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path / "ws")
    process = start(ws, "--on-gate", "wait", "--approve", "plan")
    waits_at(ws, "parallel", process)
    process.send_signal(signal.SIGKILL)
    finish(process)
    resumed = run(ws, "--approve", "plan")  # parallel is not auto-approved: a person decides
    assert resumed.returncode == 4, resumed.stdout + resumed.stderr
    assert "⏸ Parallel waits" in resumed.stdout
    later = run(ws, "--approve", LATER)
    assert later.returncode == 0, later.stdout + later.stderr


def test_l_the_rule_decides_an_open_gate_by_this_process_auto_approval() -> None:
    from orchestrator_tui.core.decisions import arrive_at_gate
    from orchestrator_tui.core.models import StageName
    from orchestrator_tui.core.state import RunState, apply

    opened = apply(RunState(), ev.GateOpened(stage=StageName.PARALLEL, summary="2 tasks"))
    assert arrive_at_gate(opened, StageName.PARALLEL, auto=True).decision == "approve"
    assert arrive_at_gate(opened, StageName.PARALLEL, auto=False).decision is None
    failed = apply(RunState(), ev.GateOpened(stage=StageName.IMPLEMENT, failed=True))
    assert arrive_at_gate(failed, StageName.IMPLEMENT, auto=True).decision is None
    blocked = apply(RunState(), ev.GateOpened(stage=StageName.SECURITY, blockers=("high",)))
    assert arrive_at_gate(blocked, StageName.SECURITY, auto=True).decision is None
