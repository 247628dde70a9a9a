"""Kill a headless run with SIGKILL during implement, resume it, lose nothing, redo nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.store import RunFiles, latest_run_id, read_events

PLAN = "# Plan: Eight\n\n" + "".join(
    f"## T{i}: Task {i}\ndepends: {'none' if i < 2 else f'T{i - 2}'}\nfiles: f{i}.py\n\n"
    for i in range(8)
)
CONFIG = """
[run]
concurrency = 2
isolation = "none"
[agents]
default = "sim"
[agents.sim]
backend = "simulated"
speed = 2.0
"""


def start_run(workspace: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator_tui",
            "run",
            "--headless",
            "--approve",
            "all",
            "-C",
            str(workspace),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )


def log_events(workspace: Path) -> list[ev.EventBase]:
    run_id = latest_run_id(workspace)
    assert run_id
    return read_events(RunFiles(workspace, run_id).events).events


def test_sigkill_during_implement_then_resume(tmp_path: Path) -> None:
    (tmp_path / "PLAN.md").write_text(PLAN)
    (tmp_path / ".orchestrator").mkdir()
    (tmp_path / ".orchestrator" / "config.toml").write_text(CONFIG)
    first = start_run(tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = [e for e in log_events_or_empty(tmp_path) if isinstance(e, ev.TaskFinished)]
        if len(done) >= 3:
            break
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    before = log_events(tmp_path)
    finished_before = {
        e.task for e in before if isinstance(e, ev.TaskFinished) and e.status == "done"
    }
    assert 3 <= len(finished_before) < 8, "the kill should land mid-implement"
    events_path = RunFiles(tmp_path, latest_run_id(tmp_path)).events
    with events_path.open("ab") as log:
        log.write(b'{"kind": "task_finished", "task": "T7", "sta')  # a torn last line

    second = start_run(tmp_path)
    output = second.communicate(timeout=120)[0].decode()
    assert second.returncode == 0, output
    assert "resumed" in output and "took over the lock" in output

    after = log_events(tmp_path)
    done_counts = Counter(
        e.task for e in after if isinstance(e, ev.TaskFinished) and e.status == "done"
    )
    assert done_counts == Counter({f"T{i}": 1 for i in range(8)})  # all done, none twice
    for task in finished_before:
        done_at = next(e.seq for e in after if isinstance(e, ev.TaskFinished) and e.task == task)
        assert not [
            e for e in after if isinstance(e, ev.TaskStarted) and e.task == task and e.seq > done_at
        ]
    assert [e.seq for e in after] == list(range(1, len(after) + 1))  # the torn line was cut
    assert isinstance(after[-1], ev.RunFinished) and after[-1].outcome == "complete"
    approvals = [e for e in after if isinstance(e, ev.GateDecided) and e.stage == "parallel"]
    assert len(approvals) == 1  # an approval given before the kill stays given


def log_events_or_empty(workspace: Path) -> list[ev.EventBase]:
    run_id = latest_run_id(workspace)
    return read_events(RunFiles(workspace, run_id).events).events if run_id else []


def done_events(events: list[ev.EventBase]) -> list[ev.TaskFinished]:
    return [e for e in events if isinstance(e, ev.TaskFinished) and e.status == "done"]
