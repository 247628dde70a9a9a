"""Prove it: a full disk or a read-only .orchestrator gives a clear error, and the last good
state stays intact (and resumes once the disk is back)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_support import Background, Recorder, engine_for, make_workspace, sim_config

from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.store import RunFiles, latest_run_id, load_run

CLI = [sys.executable, "-m", "orchestrator_tui"]


def test_disk_full_mid_run_stops_cleanly_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = make_workspace(tmp_path)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder)
    run_id = engine.open()
    real_fsync = os.fsync
    calls = {"n": 0}

    def fsync_until_full(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] > 12:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_until_full)
    assert engine.run() == "failed"
    monkeypatch.undo()
    errors = [e for e in recorder.of(ev.Notice) if e.level == "error"]
    assert errors and "the disk is full" in errors[-1].text
    assert not (workspace / ".orchestrator" / "lock").exists()  # the lock was let go
    files = RunFiles(workspace, run_id)
    state, warnings = load_run(files)
    assert not state.finished and warnings == []  # the log up to the failure is whole

    engine = engine_for(workspace, sim_config(), Recorder())
    assert engine.open() == run_id  # the same run resumes
    assert engine.run() == "complete"


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Directories made immutable with chattr +i: read-only even for root."""
    if not shutil.which("chattr"):
        pytest.skip("chattr is not installed: cannot make a directory read-only as root")
    made: list[Path] = []
    yield made
    for path in made:
        subprocess.run(["chattr", "-R", "-i", str(path)], check=False, timeout=30)


def make_immutable(paths: list[Path], path: Path) -> None:
    result = subprocess.run(["chattr", "-R", "+i", str(path)], capture_output=True, timeout=30)
    if result.returncode != 0:
        pytest.skip(f"chattr +i not supported here: {result.stderr.decode().strip()}")
    paths.append(path)


def test_read_only_orchestrator_dir_is_a_clear_error(tmp_path: Path, immutable: list[Path]) -> None:
    workspace = make_workspace(tmp_path)
    recorder = Recorder()
    engine = engine_for(workspace, sim_config(), recorder, approve=frozenset())
    with Background(engine):
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened))
    run_id = latest_run_id(workspace)  # an open run, waiting at a gate, its engine gone
    assert run_id
    before = RunFiles(workspace, run_id).events.read_bytes()
    make_immutable(immutable, workspace / ".orchestrator")
    result = subprocess.run(
        [*CLI, "run", "--headless", "--approve", "all", "-C", str(workspace)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "not permitted" in result.stderr or "read-only" in result.stderr
    answer = subprocess.run(
        [*CLI, "approve", "-C", str(workspace)], capture_output=True, text=True, timeout=60
    )
    assert answer.returncode == 1 and "Traceback" not in answer.stderr
    assert RunFiles(workspace, run_id).events.read_bytes() == before
