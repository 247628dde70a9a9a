"""Tools and agents die with the orchestrator (issue 12, I): a SIGKILL of the orchestrator's
process group leaves no stage tool and no agent running, and a resume kills what an earlier
process left when its lifeline was killed too."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from crash_support import lifelines_of

from orchestrator_tui.infra import procgroup

CLI = [sys.executable, "-m", "orchestrator_tui"]
SLEEPER = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(90)"
PLAN = """\
# Plan: One

## T1: Sleep
depends: none
files: t1.txt
run: {python} -c "{code}" {marker}
"""
CONFIG = """\
[run]
isolation = "none"
[agents]
default = "{backend}"
[agents.simulated]
backend = "simulated"
speed = 20
[agents.sh]
backend = "shell"
[stages.test]
command = ["{python}", "-c", "{code}", "{marker}"]
"""


def workspace(root: Path, backend: str) -> tuple[Path, Path]:
    root.mkdir(parents=True)
    marker = root / "sleeper.pid"
    values = {"python": sys.executable, "code": SLEEPER, "marker": marker, "backend": backend}
    (root / "PLAN.md").write_text(PLAN.format(**values), encoding="utf-8")
    (root / ".orchestrator").mkdir()
    (root / ".orchestrator" / "config.toml").write_text(CONFIG.format(**values), encoding="utf-8")
    return root, marker


def start(ws: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "run", "--headless", "--approve", "all", "-C", str(ws)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, killed whole as a crash would
    )  # fmt: skip


def wait_for(marker: Path, process: subprocess.Popen[bytes], within: float = 60) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, "the run ended before its sleeper started"
        with contextlib.suppress(OSError, ValueError):
            return int(marker.read_text())
        time.sleep(0.05)
    raise AssertionError("the sleeper never started")


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def crash(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_i_a_stage_tool_dies_with_the_orchestrator(tmp_path: Path) -> None:
    ws, marker = workspace(tmp_path / "ws", "simulated")
    process = start(ws)
    tool = 0
    try:
        tool = wait_for(marker, process)  # the test stage's command runs
        crash(process)
        assert gone_within(tool, 10), "the test command outlived the orchestrator"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(tool, signal.SIGKILL) if tool else process.kill()


def test_i_an_agent_dies_with_the_orchestrator(tmp_path: Path) -> None:
    ws, marker = workspace(tmp_path / "ws", "sh")
    process = start(ws)
    agent = 0
    try:
        agent = wait_for(marker, process)  # T1's agent runs
        crash(process)
        assert gone_within(agent, 10), "the agent outlived the orchestrator"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(agent, signal.SIGKILL) if agent else process.kill()


def test_i_a_resume_kills_the_tool_an_earlier_process_left(tmp_path: Path) -> None:
    ws, marker = workspace(tmp_path / "ws", "simulated")
    process = start(ws)
    old = again = 0
    resumed = None
    try:
        old = wait_for(marker, process)
        for lifeline in lifelines_of(process.pid):  # the watchdog dies first: no help there
            os.kill(lifeline, signal.SIGKILL)
        crash(process)
        time.sleep(0.5)
        assert alive(old)  # only the pidfile is left to find it
        marker.unlink()
        resumed = start(ws)
        again = wait_for(marker, resumed)  # the resumed test stage starts its tool again
        assert again != old
        assert gone_within(old, 10), "the resumed run left the earlier tool running"
    finally:
        if resumed is not None:
            crash(resumed)
        for pid in (old, again):
            with contextlib.suppress(ProcessLookupError):
                if pid:
                    os.kill(pid, signal.SIGKILL)


def test_i_the_lifeline_kills_only_groups_that_carry_their_token(tmp_path: Path) -> None:
    from orchestrator_tui.agents.procgroup import Lifeline

    marker = tmp_path / "a.pid"
    ours = subprocess.Popen(
        [sys.executable, "-c", SLEEPER, str(marker)],
        env={**os.environ, "ORCH_AGENT_TOKEN": "t1"}, start_new_session=True,
    )  # fmt: skip
    other = subprocess.Popen(
        [sys.executable, "-c", SLEEPER, str(tmp_path / "b.pid")], start_new_session=True
    )
    lifeline = Lifeline()
    try:
        assert lifeline.guard(ours.pid, "t1") and lifeline.guard(other.pid, "t2")
        assert lifeline.process is not None and lifeline.process.stdin is not None
        lifeline.process.stdin.close()  # what the death of this process does
        lifeline.process.wait(timeout=10)
        assert ours.wait(timeout=10) == -signal.SIGTERM
        assert other.poll() is None  # no token of ours: never touched
    finally:
        for child in (ours, other):
            child.kill()
            child.wait(timeout=10)


def test_an_ended_group_is_struck_off_with_the_next_guard(tmp_path: Path) -> None:
    """A release is not a write of its own (each write wakes the lifeline): it goes with
    the next guard. A released group is never killed by the lifeline once that went out."""
    from orchestrator_tui.agents.procgroup import Lifeline

    token = {**os.environ, "ORCH_AGENT_TOKEN": "t1"}
    released = subprocess.Popen(
        [sys.executable, "-c", SLEEPER, str(tmp_path / "a.pid")], env=token, start_new_session=True
    )
    guarded = subprocess.Popen(
        [sys.executable, "-c", SLEEPER, str(tmp_path / "b.pid")],
        env={**os.environ, "ORCH_AGENT_TOKEN": "t2"}, start_new_session=True,
    )  # fmt: skip
    lifeline = Lifeline()
    try:
        assert lifeline.guard(released.pid, "t1")
        lifeline.release(released.pid)  # as if it had ended (it still runs: the proof)
        assert lifeline.ended == f"- {released.pid}\n"  # held back
        assert lifeline.guard(guarded.pid, "t2")
        assert lifeline.ended == ""
        assert lifeline.process is not None and lifeline.process.stdin is not None
        lifeline.process.stdin.close()  # what the death of this process does
        lifeline.process.wait(timeout=10)
        assert guarded.wait(timeout=10) == -signal.SIGTERM
        assert released.poll() is None  # struck off: not touched
    finally:
        for child in (released, guarded):
            child.kill()
            child.wait(timeout=10)


def test_a_pidfile_is_kept_in_memory_under_its_place_in_the_run(tmp_path: Path) -> None:
    """A disk file made and removed per agent cost more than the agent's start: the record
    lives in a private folder in memory, named by the pidfile's path, and goes with it."""
    first, second = tmp_path / "logs" / "T1.pid", tmp_path / "logs" / "T2.pid"
    folder = procgroup.runtime_dir()
    assert folder is not None  # Linux: /dev/shm at least
    assert os.stat(folder).st_mode & 0o777 == 0o700 and os.stat(folder).st_uid == os.getuid()
    procgroup.write_pidfile(first, 999_997, "token-one")
    procgroup.write_pidfile(second, 999_996, "token-two")
    try:
        assert not first.exists() and not (tmp_path / "logs").exists()  # nothing on disk
        kept = procgroup.kept_at(first)
        assert kept.parent == folder and kept != procgroup.kept_at(second)
        assert kept.read_text() == "999997 token-one\n"
    finally:
        procgroup.remove_pidfile(first, 999_997)
        procgroup.remove_pidfile(second)  # read back from its record
    assert not procgroup.kept_at(first).exists() and not procgroup.kept_at(second).exists()


def test_a_runtime_folder_others_can_open_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    (shared / f"orchestrator-tui-{os.getuid()}").mkdir(parents=True, mode=0o755)
    (shared / f"orchestrator-tui-{os.getuid()}").chmod(0o755)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared))
        procgroup.runtime_dir.cache_clear()
        assert procgroup.runtime_dir() == Path("/dev/shm", f"orchestrator-tui-{os.getuid()}")
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(fresh))
        procgroup.runtime_dir.cache_clear()
        made = procgroup.runtime_dir()
        assert made == fresh / f"orchestrator-tui-{os.getuid()}"
        assert made.stat().st_mode & 0o777 == 0o700
    finally:
        monkeypatch.undo()
        procgroup.runtime_dir.cache_clear()


def test_a_full_runtime_folder_puts_the_record_on_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/dev/shm can be small (64 MB in a container) and full: the agent still runs, its
    record goes where it used to, and the next start still finds it."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setattr(procgroup, "kept_at", lambda pidfile: blocked / pidfile.name)
    pidfile = tmp_path / "logs" / "T1.pid"
    procgroup.write_pidfile(pidfile, 999_995, "token")
    assert pidfile.read_text() == "999995 token\n"
    assert procgroup.kill_leftovers(pidfile) == 0 and not pidfile.exists()  # found, no one
    procgroup.write_pidfile(pidfile, 999_995, "token")
    procgroup.remove_pidfile(pidfile)
    assert not pidfile.exists() and pidfile not in procgroup.ON_DISK
