"""Agents started by the spawner (agents/spawner.py, a helper process; agents/starter.py its
other end): what they get and report is what an agent started in the orchestrator got, and
no fault leaves one running — the spawner killed under them, the orchestrator killed before
it heard the spawner's answer, a stop before the answer, a pidfile that cannot be written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from agent_support import RecordingEvents

from orchestrator_tui.agents import launch, procgroup, runner, starter
from orchestrator_tui.agents.runner import ProcessSpec, plain_lines
from orchestrator_tui.agents.starter import Spawned

pytestmark = pytest.mark.skipif(not starter.usable(), reason="needs glibc ≥ 2.34 and pidfds")


def carrying(token: str) -> list[int]:
    """Live processes with `token` in their environment."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and procgroup.carries_token(int(entry.name), token):
            with_state = (entry / "stat").read_text() if (entry / "stat").exists() else ""
            if with_state and with_state[with_state.rfind(")") + 2] != "Z":
                found.append(int(entry.name))
    return found


def gone(token: str, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not carrying(token):
            return True
        time.sleep(0.05)
    return False


def start(
    tmp_path: Path, argv: list[str], name: str = "T1"
) -> tuple[runner.Watch, RecordingEvents]:
    spec = ProcessSpec(
        argv=argv, cwd=tmp_path, log_path=tmp_path / f"{name}.log", pidfile=tmp_path / f"{name}.pid"
    )
    events = RecordingEvents()
    return runner.start_process(spec, plain_lines, events, threading.Event()), events


def started(watch: runner.Watch, within: float = 10.0) -> int:
    deadline = time.monotonic() + within
    while not watch.process.pid:
        assert time.monotonic() < deadline, "the spawner did not answer"
        time.sleep(0.01)
    return watch.process.pid


def token_of(pid: int) -> str:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    prefix = f"{procgroup.TOKEN_VARIABLE}=".encode()
    return next(item[len(prefix) :].decode() for item in environ if item.startswith(prefix))


def test_an_agent_started_by_the_spawner_runs_reports_and_is_recorded(tmp_path: Path) -> None:
    watch, events = start(
        tmp_path,
        [
            "sh",
            "-c",
            'echo "$$ $(cut -d" " -f5,6 /proc/$$/stat)"; sleep 0.5; echo late >&2; exit 3',
        ],
    )
    assert isinstance(watch.process, Spawned)
    pid = started(watch)
    record = procgroup.kept_at(tmp_path / "T1.pid")
    deadline = time.monotonic() + 5
    while not record.exists():  # written when the supervisor hears the answer
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert record.read_text().split()[0] == str(pid)
    outcome = watch.wait(timeout=20)
    assert outcome is not None and outcome.reason == "exit 3" and outcome.exit_code == 3
    assert events.lines == [f"{pid} {pid} {pid}", "late"]  # its own group and session
    assert not record.exists()
    assert "=== exit 3 after" in (tmp_path / "T1.log").read_text()


def test_a_program_that_cannot_be_executed_fails_as_it_did_here(tmp_path: Path) -> None:
    script = tmp_path / "bad.sh"
    script.write_text("#!/no/such/interpreter\n")
    script.chmod(0o755)
    watch, events = start(tmp_path, ["./bad.sh"])
    outcome = watch.wait(timeout=20)
    assert outcome is not None and not outcome.started
    assert outcome.reason == "could not start ./bad.sh: No such file or directory"
    assert events.lines == [f"[orchestrator] {outcome.reason}"]
    assert f"=== {outcome.reason} after 0.0 s" in (tmp_path / "T1.log").read_text()
    assert not procgroup.kept_at(tmp_path / "T1.pid").exists()


def test_a_stop_before_the_spawner_answered_stops_the_agent(tmp_path: Path) -> None:
    watch, _events = start(tmp_path, ["sleep", "30"])
    watch.stop()  # at once: the spawner has not answered yet
    outcome = watch.wait(timeout=20)
    assert outcome is not None and outcome.reason == "cancelled"
    pid = watch.process.pid
    assert pid and not procgroup.ProcessGroup(None, pid).alive()


def test_a_record_that_cannot_be_written_anywhere_stops_the_agent(tmp_path: Path) -> None:
    for path in procgroup.records(tmp_path / "T1.pid"):
        path.mkdir()  # neither the runtime folder's file nor the pidfile can be written
    try:
        watch, events = start(tmp_path, ["sleep", "30"])
        outcome = watch.wait(timeout=20)
        assert outcome is not None and not outcome.started
        assert outcome.reason == "could not record T1.pid: Is a directory"
        assert events.lines == [f"[orchestrator] {outcome.reason}"]
        assert isinstance(watch.process, Spawned) and not watch.process.pid
    finally:
        for path in procgroup.records(tmp_path / "T1.pid"):
            path.rmdir()


def test_a_record_the_runtime_folder_cannot_take_goes_to_the_pidfile(tmp_path: Path) -> None:
    kept = procgroup.kept_at(tmp_path / "T1.pid")
    if kept == tmp_path / "T1.pid":
        pytest.skip("no runtime folder here")
    kept.mkdir()
    try:
        watch, _events = start(tmp_path, ["sleep", "30"])
        pid = started(watch)
        deadline = time.monotonic() + 5
        while not (tmp_path / "T1.pid").exists():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert (tmp_path / "T1.pid").read_text().split()[0] == str(pid)
        watch.stop()
        assert watch.wait(timeout=20) is not None
        assert not (tmp_path / "T1.pid").exists()  # found there again, and removed
    finally:
        kept.rmdir()


def test_the_spawner_kills_what_an_earlier_attempt_left(tmp_path: Path) -> None:
    """An orchestrator that died left its agent running and its record in place."""
    token = procgroup.new_token()
    env = {**os.environ, procgroup.TOKEN_VARIABLE: token}
    left = subprocess.Popen(["sleep", "30"], env=env, start_new_session=True)
    procgroup.kept_at(tmp_path / "T1.pid").write_text(f"{left.pid} {token}\n")
    watch, events = start(tmp_path, ["sh", "-c", "echo next"])
    outcome = watch.wait(timeout=20)
    assert outcome is not None and outcome.reason == "ok" and events.lines == ["next"]
    assert ("warning", "killed 1 process(es) left from an earlier attempt") in events.notices
    assert left.wait(timeout=10) == -signal.SIGTERM


def test_the_spawner_killed_under_running_agents(tmp_path: Path) -> None:
    first, events = start(tmp_path, ["sleep", "30"])
    pid = started(first)
    token = token_of(pid)
    helper = first.process.starter  # type: ignore[union-attr]
    os.kill(helper.process.pid, signal.SIGKILL)
    outcome = first.wait(timeout=20)
    assert outcome is not None and outcome.reason == "killed by signal 9 (SIGKILL)"
    assert any("spawner" in text for _level, text in events.notices)
    assert gone(token)
    second, _events = start(tmp_path, ["sh", "-c", "echo again"], name="T2")
    outcome = second.wait(timeout=20)
    assert outcome is not None and outcome.reason == "ok"
    assert isinstance(second.process, Spawned) and second.process.starter is not helper


ORCHESTRATOR = """
import os, signal, sys, time
from orchestrator_tui.agents import procgroup, starter
helper = starter.shared()
token = procgroup.new_token()
env = {"PATH": os.environ["PATH"], procgroup.TOKEN_VARIABLE: token}
null = os.open(os.devnull, os.O_RDWR)
child = helper.start("/bin/sleep", ["sleep", "60"], env, "/", (null, null, null))
assert child is not None
print(helper.process.pid, token, flush=True)
time.sleep(0.3)  # the answer waits on the socket, never read
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_orchestrator_killed_before_it_heard_the_answer() -> None:
    """No pidfile, no lifeline guard yet: the spawner alone knows the agent, and it stops
    it when the orchestrator's end of the socket closes."""
    result = subprocess.run(
        [sys.executable, "-c", ORCHESTRATOR], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -signal.SIGKILL, result.stderr
    helper_pid, token = result.stdout.split()
    assert gone(token)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{helper_pid}").exists():  # the spawner ends too
        assert time.monotonic() < deadline, "the spawner outlived the orchestrator"
        time.sleep(0.05)


def test_a_request_too_large_for_the_spawner_is_started_here(tmp_path: Path) -> None:
    watch, events = start(tmp_path, ["sh", "-c", 'echo "${#1}"', "sh", "x" * 70_000])
    outcome = watch.wait(timeout=20)
    assert outcome is not None and outcome.reason == "ok" and events.lines == ["70000"]
    assert isinstance(watch.process, launch.Child)


def test_a_handle_can_be_waited_for_without_the_supervisor(tmp_path: Path) -> None:
    helper = starter.shared()
    assert helper is not None
    child = helper.start("/bin/sh", ["sh", "-c", "exit 7"], {}, tmp_path, (0, 1, 2))
    assert child is not None and child.wait(timeout=10) == 7
    with pytest.raises(subprocess.TimeoutExpired):
        sleeper = helper.start("/bin/sleep", ["sleep", "5"], {}, tmp_path, (0, 1, 2))
        assert sleeper is not None
        sleeper.wait(timeout=0.2)
    assert sleeper.pid
    os.kill(sleeper.pid, signal.SIGKILL)
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
