"""`orchestrator-tui runs`: the workspace's runs read from their event logs, in a real
subprocess; torn and garbage logs are said in a line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from runs_support import OLD_RUN, RUN_ID, hold_lock, two_runs, write_run

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.run_summary import summarize
from orchestrator_tui.core.state import replay
from orchestrator_tui.infra.run_index import list_runs

CLI = [sys.executable, "-m", "orchestrator_tui"]


def runs(workspace: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TZ": "UTC", "COLUMNS": "200"}
    return subprocess.run(
        [*CLI, "runs", "-C", str(workspace), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_lists_each_run_newest_first_with_its_figures(tmp_path: Path) -> None:
    two_runs(tmp_path)
    done = runs(tmp_path)
    assert done.returncode == 0, done.stderr
    header, first, second = done.stdout.splitlines()
    assert header.split() == [
        "RUN", "STARTED", "TOOK", "OUTCOME", "TASKS", "TESTS", "FINDINGS", "COST", "GOAL",
    ]  # fmt: skip
    # The newer run, stopped mid-implement (no engine holds it): resumable, 1 of 7 done.
    assert first.split()[:7] == [
        RUN_ID, "2023-11-14", "22:13", "1m10s", "stopped", "·", "implement",
    ]  # fmt: skip
    assert " 1/7 " in first and "$0.1661" in first and "Add user accounts" in first
    assert first.count("—") == 2  # no tests ran, no scan yet
    # The older one: complete in 3m55s, 6 of 7 done (one skipped), tests and findings.
    assert second.split()[:6] == [OLD_RUN, "2023-11-13", "22:13", "3m55s", "complete", "6/7"]
    assert "41 passed, 2 failed" in second
    assert "3 (1 high, 2 low)" in second
    assert "$0.60" in second or "$0.6000" in second


def test_json_gives_every_field(tmp_path: Path) -> None:
    two_runs(tmp_path)
    done = runs(tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    new, old = json.loads(done.stdout)
    assert (new["run_id"], new["outcome"], new["stage"]) == (RUN_ID, "stopped", "implement")
    assert (new["tasks_done"], new["tasks_total"], new["tests"], new["findings"]) == (
        1,
        7,
        None,
        None,
    )
    assert old["outcome"] == "complete" and old["reason"] == "all stages passed"
    assert old["tests"] == {"passed": 41, "failed": 2, "errors": 0, "skipped": 0}
    assert (old["findings"], old["findings_counts"]) == (3, {"high": 1, "low": 2})
    assert old["duration"] == 235.0 and round(old["cost_usd"], 4) == 0.6
    assert old["warnings"] == [] and old["events"] > 40


def test_a_torn_or_garbage_log_is_a_line_not_a_traceback(tmp_path: Path) -> None:
    old, new = two_runs(tmp_path)
    data = new.events.read_bytes()
    lines = data.splitlines(keepends=True)
    # garbage in the middle, and the last event cut in half (a crash mid-write)
    torn = b"".join(lines[:5]) + b"\x00\xffnot json\n" + b"".join(lines[5:-1]) + lines[-1][:17]
    new.events.write_bytes(torn)
    old.events.write_bytes(b"{{{ nothing here\n\xff\xfe\n")  # nothing readable at all
    empty = write_run(tmp_path, "20231115-000000-eeee", [])
    empty.events.write_bytes(b"")
    done = runs(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    out = done.stdout
    assert "20231115-000000-eeee  —" in out and "unreadable" in out
    assert "  ! no event in the log" in out
    assert "  ! events.jsonl: skipped a bad line ('utf-8' codec can't decode byte 0xff" in out
    assert "invalid start byte) at entry 6" in out
    assert "  ! events.jsonl: ignored a torn last line (the log ends mid-event)" in out
    # the torn run is still listed with what its good lines say
    row = next(line for line in out.splitlines() if line.startswith(RUN_ID))
    assert "stopped · implement" in row and "1/7" in row
    row = next(line for line in out.splitlines() if line.startswith(OLD_RUN))
    assert "unreadable" in row and "$" not in row
    assert "  ! events.jsonl: skipped a bad line (not JSON: Expecting property name" in out


def test_a_run_an_engine_holds_is_running_or_waiting(tmp_path: Path) -> None:
    _old, new = two_runs(tmp_path)
    hold_lock(tmp_path, RUN_ID)
    (row,) = [r for r in list_runs(tmp_path) if r.run_id == RUN_ID]
    assert (row.outcome, row.stage) == ("running", "implement")
    waiting = [*replay_events(new), ev.GateOpened(stage="implement", at=1.0)]
    summary = summarize(RUN_ID, replay(waiting), events=len(waiting), live=True)
    assert (summary.outcome, summary.stage) == ("waiting", "implement")


def replay_events(files) -> list[ev.EventBase]:
    from orchestrator_tui.infra.store import read_events

    return read_events(files.events).events


def test_no_runs_and_a_missing_directory(tmp_path: Path) -> None:
    done = runs(tmp_path)
    assert (done.returncode, done.stdout.strip()) == (
        0,
        f"no runs in {tmp_path / '.orchestrator' / 'runs'}",
    )
    done = runs(tmp_path / "nowhere")
    assert done.returncode == 2 and "no such directory" in done.stderr


def test_a_real_demo_run_is_listed(tmp_path: Path) -> None:
    """The real engine's log (simulated agents, real pytest and bandit) summarised."""
    target = tmp_path / "demo"
    env = {
        **os.environ,
        "ORCHESTRATOR_TUI_DEMO_SPEED": "25",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    demo = subprocess.run(
        [*CLI, "demo", "--headless", "--approve", "all", "--dir", str(target)],
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    (row,) = json.loads(runs(target, "--json").stdout)
    assert (row["outcome"], row["tasks_done"], row["tasks_total"]) == ("complete", 8, 8)
    assert row["tests"]["passed"] == 23 and row["findings"] == 1
    assert row["goal"].startswith("textkit 0.2") and row["cost_usd"] > 0
