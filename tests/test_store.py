"""The event log tolerates torn and garbage lines; state.json is only a snapshot."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from engine_support import Recorder, engine_for, make_workspace, sim_config

from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.fsutil import DiskError
from orchestrator_tui.infra.store import EventLog, RunFiles, load_run, read_events, read_snapshot


def finished_run(tmp_path: Path) -> RunFiles:
    workspace = make_workspace(tmp_path)
    engine = engine_for(workspace, sim_config(), Recorder())
    run_id = engine.open()
    assert engine.run() == "complete"
    return RunFiles(workspace, run_id)


def test_garbage_and_unknown_lines_are_skipped_with_warnings(tmp_path: Path) -> None:
    files = finished_run(tmp_path)
    clean, _ = load_run(files)
    lines = files.events.read_bytes().split(b"\n")
    lines.insert(5, b"this is not json")
    lines.insert(9, b'{"kind": "from_a_newer_version", "seq": 0}')
    lines.insert(12, b'{"kind": "task_started"}')  # a known kind missing its fields
    files.events.write_bytes(b"\n".join(lines))
    state, warnings = load_run(files)
    assert state == clean
    assert len(warnings) == 2 and "not JSON" in warnings[0] and "task_started" in warnings[1]


def test_a_torn_last_line_is_ignored_then_cut_before_the_next_append(tmp_path: Path) -> None:
    files = finished_run(tmp_path)
    whole = files.events.read_bytes()
    files.events.write_bytes(whole + b'{"kind": "notice", "te')
    read = read_events(files.events)
    assert read.valid_bytes == len(whole)
    _state, warnings = load_run(files)
    assert warnings == ["events.jsonl: ignored a torn last line"]
    log = EventLog(files)
    log.append(ev.Notice(seq=999, text="after the crash"))
    log.close()
    assert read_events(files.events).events[-1].text == "after the crash"
    assert files.events.read_bytes().startswith(whole)


def test_events_of_some_kinds_are_read_alone(tmp_path: Path) -> None:
    """Read by kind, the log gives exactly the events of those kinds that a whole read
    gives, in order, with the same reach; a line that only mentions a kind is not one."""
    files = finished_run(tmp_path)
    log = EventLog(files)
    log.append(ev.Notice(seq=999, text='a "task_finished" said in a notice'))
    log.close()
    whole = read_events(files.events)
    kinds = frozenset({"task_finished", "gate_decided"})
    some = read_events(files.events, kinds=kinds)
    expected = [e for e in whole.events if isinstance(e, (ev.TaskFinished, ev.GateDecided))]
    assert some.events == expected and len(expected) > 10
    assert some.valid_bytes == whole.valid_bytes and not some.warnings


def test_a_corrupt_state_json_does_not_matter_for_resume(tmp_path: Path) -> None:
    files = finished_run(tmp_path)
    files.state.write_text("{ garbage")
    assert read_snapshot(files) is None
    state, _ = load_run(files)
    assert state.outcome == "complete"


def test_a_full_disk_is_a_clear_error_and_the_log_keeps_what_it_had(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = finished_run(tmp_path)
    before = files.events.read_bytes()
    log = EventLog(files)

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskError, match="the disk is full"):
        log.append(ev.Notice(seq=1000, text="x"))
    monkeypatch.undo()
    log.close()
    state, _ = load_run(files)
    assert state.outcome == "complete"
    assert files.events.read_bytes().startswith(before)
