"""The follower: tailing an event log that another process writes, and what it makes of
bad input; and the engine's liveness as the monitor words it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from monitor_support import (
    NOW,
    RUN_ID,
    T0,
    dead_pid,
    implementing,
    recorded_implementing,
    this_host_lock,
    waiting_at_review,
    write_events,
    write_lock,
)

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, StageStatus, TaskStatus
from orchestrator_tui.core.state import replay
from orchestrator_tui.infra.store import RunFiles
from orchestrator_tui.monitor.follower import MonitorSnapshot, RunFollower, follow, newest_line
from orchestrator_tui.monitor.formatting import age, short_duration
from orchestrator_tui.monitor.liveness import engine_liveness


def test_a_workspace_without_orchestrator_dir_is_waited_for(tmp_path: Path) -> None:
    follower = RunFollower(tmp_path)
    snapshot = follower.poll()
    assert not snapshot.has_orchestrator and snapshot.run_id == ""
    assert engine_liveness(snapshot, NOW).text == "no .orchestrator here yet — waiting for a run"
    (tmp_path / ".orchestrator").mkdir()
    snapshot = follower.poll()
    assert engine_liveness(snapshot, NOW).text == "no run yet — waiting for `orchestrator-tui run`"
    write_events(RunFiles(tmp_path, RUN_ID), implementing()[:2])
    snapshot = follower.poll()
    assert snapshot.run_id == RUN_ID
    assert snapshot.state.stages[StageName.ANALYZE].status == StageStatus.RUNNING
    assert snapshot.live  # found after the monitor started: news, not history


def test_the_fold_equals_a_replay_of_the_whole_log(tmp_path: Path) -> None:
    events = implementing()
    files = RunFiles(tmp_path, RUN_ID)
    follower = RunFollower(tmp_path)
    for start in range(0, len(events), 4):  # written in slices, polled after each
        write_events(files, events[start : start + 4])
        follower.poll()
    assert follower.state == replay(events)
    assert follower.offset == files.events.stat().st_size


def test_a_half_written_line_waits_for_its_end(tmp_path: Path) -> None:
    files = RunFiles(tmp_path, RUN_ID)
    events = implementing()
    write_events(files, events[:-1])
    last = ev.dump_event(events[-1])
    with files.events.open("a", encoding="utf-8") as handle:
        handle.write(last[:20])  # a writer caught mid-line
    follower = RunFollower(tmp_path)
    snapshot = follower.poll()
    assert snapshot.torn_tail and snapshot.warnings == ()
    assert snapshot.state.notices == ()  # the notice is the half-written event
    with files.events.open("a", encoding="utf-8") as handle:
        handle.write(last[20:] + "\n")
    snapshot = follower.poll()
    assert not snapshot.torn_tail
    assert snapshot.state.notices == ("warning: budget: 80% of $1.00 spent",)
    assert [e.seq for e in snapshot.new_events] == [events[-1].seq]


def test_garbage_lines_are_skipped_with_a_warning(tmp_path: Path) -> None:
    files = RunFiles(tmp_path, RUN_ID)
    events = implementing()
    write_events(files, events[:3], extra="{not json\n")
    write_events(files, events[3:], extra='{"kind": "task_started"}\n')
    snapshot = RunFollower(tmp_path).poll()
    assert snapshot.state == replay(events)
    assert len(snapshot.warnings) == 2
    assert "not JSON" in snapshot.warnings[0]
    assert "invalid task_started event" in snapshot.warnings[1]


def test_events_of_an_unknown_kind_are_counted_and_skipped(tmp_path: Path) -> None:
    files = RunFiles(tmp_path, RUN_ID)
    events = implementing()
    future = '{"kind": "quantum_merge", "seq": 5, "task": "T9"}\n'
    write_events(files, events[:5], extra=future + future)
    write_events(files, events[5:])
    snapshot = RunFollower(tmp_path).poll()
    assert snapshot.unknown_events == 2
    assert snapshot.warnings == ()
    assert snapshot.state == replay(events)


def test_a_newer_run_takes_over(tmp_path: Path) -> None:
    follower = RunFollower(tmp_path)
    write_events(RunFiles(tmp_path, RUN_ID), implementing())
    assert follower.poll().run_id == RUN_ID
    newer = "20231115-090000-cd34"
    started = ev.RunStarted(run_id=newer, workspace=str(tmp_path), seq=1, at=T0 + 500)
    write_events(RunFiles(tmp_path, newer), [started])
    snapshot = follower.poll()
    assert snapshot.run_id == newer
    assert snapshot.state.tasks == {}  # nothing of the old run leaks into the new one
    assert snapshot.new_events == (started,)


def test_running_tasks_show_the_newest_line_of_their_log(tmp_path: Path) -> None:
    recorded_implementing(tmp_path)
    snapshot = RunFollower(tmp_path).poll()
    assert dict(snapshot.output_tails) == {
        "T2": "Editing src/api/users.py",
        "T3": "Running pytest tests/test_login.py -q",
    }


def test_newest_line_skips_blank_lines_and_control_characters(tmp_path: Path) -> None:
    log = tmp_path / "T1.log"
    log.write_bytes(b"first\n\x1b[31mred\x1b[0m\tline\r\n\n  \n")
    assert newest_line(log) == "[31mred[0m line"
    assert newest_line(tmp_path / "missing.log") == ""
    log.write_bytes(b"x" * 10_000 + b"\nlast one")
    assert newest_line(log) == "last one"


def test_liveness_of_a_fresh_a_stale_a_missing_and_a_dead_lock(tmp_path: Path) -> None:
    files = RunFiles(tmp_path, RUN_ID)
    write_events(files, implementing())
    follower = RunFollower(tmp_path)

    write_lock(tmp_path, heartbeat_at=NOW - 1)
    live = engine_liveness(follower.poll(), NOW)
    assert (live.level, live.text) == ("alive", "engine pid 4242 · heartbeat 1 s")

    write_lock(tmp_path, heartbeat_at=NOW - 42)
    live = engine_liveness(follower.poll(), NOW)
    assert (live.level, live.text) == ("dead", "engine not running — heartbeat 42 s old")

    (tmp_path / ".orchestrator" / "lock").unlink()
    live = engine_liveness(follower.poll(), NOW)
    assert live.level == "dead"
    assert live.text == "engine not running — no lock, last event 50 s old"

    pid = dead_pid()
    this_host_lock(tmp_path, pid, heartbeat_at=NOW - 1)
    live = engine_liveness(follower.poll(), NOW)
    assert live.text == f"engine not running — pid {pid} gone, heartbeat 1 s old"

    this_host_lock(tmp_path, os.getpid(), heartbeat_at=NOW - 1)
    assert engine_liveness(follower.poll(), NOW).level == "alive"


def test_a_finished_run_needs_no_engine(tmp_path: Path) -> None:
    finished = [*waiting_at_review(), ev.RunFinished(outcome="complete", seq=99, at=T0 + 160)]
    write_events(RunFiles(tmp_path, RUN_ID), finished)
    live = engine_liveness(RunFollower(tmp_path).poll(), NOW)
    assert (live.level, live.text) == ("done", "run complete")


def test_a_garbage_lock_file_counts_as_no_lock(tmp_path: Path) -> None:
    write_events(RunFiles(tmp_path, RUN_ID), implementing())
    (tmp_path / ".orchestrator" / "lock").write_text("{half a lock", encoding="utf-8")
    snapshot = RunFollower(tmp_path).poll()
    assert snapshot.lock is None
    assert engine_liveness(snapshot, NOW).level == "dead"


WRITER = textwrap.dedent(
    """
    import sys, time
    path, lines = sys.argv[1], sys.stdin.read().splitlines(keepends=True)
    with open(path, "a", encoding="utf-8") as handle:
        for line in lines:
            half = len(line) // 2
            handle.write(line[:half]); handle.flush(); time.sleep(0.02)
            handle.write(line[half:]); handle.flush(); time.sleep(0.03)
    """
)


def test_follow_publishes_what_another_process_appends(tmp_path: Path) -> None:
    """A separate process writes the log line by line, each line in two halves; the
    follower thread (watchfiles) publishes snapshots until it has seen every event."""
    events = implementing()
    files = RunFiles(tmp_path, RUN_ID)
    write_events(files, events[:2])
    follower = RunFollower(tmp_path)
    first = follower.poll()
    published: list[MonitorSnapshot] = []
    stop = threading.Event()
    thread = threading.Thread(target=follow, args=(follower, published.append, stop, 0.2))
    thread.start()
    try:
        payload = "".join(ev.dump_event(e) + "\n" for e in events[2:])
        subprocess.run(
            [sys.executable, "-c", WRITER, str(files.events)],
            input=payload,
            text=True,
            check=True,
            timeout=20,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if published and published[-1].state.last_seq == events[-1].seq:
                break
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive(), "the follower stops when told"
    assert published, "nothing was published"
    assert published[-1].state == replay(events)
    seen = [e.seq for s in published for e in s.new_events]
    assert seen == [e.seq for e in events[2:]]  # each event once, in order, none torn
    assert all(s.warnings == () for s in published)
    assert first.state.last_seq == events[1].seq
    assert published[-1].state.tasks["T4"].status == TaskStatus.FAILED


def test_durations_and_ages_stay_short() -> None:
    assert [short_duration(s) for s in (7, 185, 3720, 2 * 86400 + 4 * 3600)] == [
        "7s",
        "3m05s",
        "1h02m",
        "2d04h",
    ]
    assert [age(s) for s in (0.4, 42, 185)] == ["0 s", "42 s", "3m05s"]


def test_the_monitor_cannot_run_agents() -> None:
    """It reads files and writes inbox commands; the engine, backends and stage runners are
    not even imported."""
    code = (
        "import sys, orchestrator_tui.monitor.app, orchestrator_tui.commands.tmux\n"
        "bad = [m for m in sys.modules if m.startswith(('orchestrator_tui.agents',"
        " 'orchestrator_tui.stages', 'orchestrator_tui.runtime', 'orchestrator_tui.engine'))]\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_raw_json_line_of_an_agent_cli_is_said_in_words(tmp_path: Path) -> None:
    """claude's stream-json is logged raw: the side pane shows what it says, not the JSON."""
    log = tmp_path / "T1.log"
    asked = {
        "type": "control_request",
        "request_id": "5b1f",
        "request": {"subtype": "can_use_tool", "tool_name": "Bash", "input": {"command": "ls -la"}},
    }
    log.write_text(json.dumps(asked) + "\n")
    assert newest_line(log) == "control_request · can_use_tool · Bash: ls -la"
    said = {"type": "assistant", "message": {"content": [{"type": "text", "text": "Done.\n"}]}}
    log.write_text(json.dumps(said) + "\n")
    assert newest_line(log) == "assistant · text: Done."
    for line in ("{not json", "[1, 2]", "plain words"):
        log.write_text(line + "\n")
        assert newest_line(log) == line
