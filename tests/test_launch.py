"""Agents started with posix_spawn (agents/launch.py) get what Popen gave them: their own
session, their working directory and environment, the three descriptors and no others,
SIGPIPE and SIGXFSZ at their defaults; failures are Popen's errors; the runner falls back
to Popen where posix_spawn is not there, and for a pipe on stdin."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from agent_support import RecordingEvents

from orchestrator_tui.agents import launch, runner
from orchestrator_tui.agents.runner import ProcessSpec, plain_lines

pytestmark = pytest.mark.skipif(not launch.available(), reason="needs glibc ≥ 2.34")

# the shell's own view of itself: cwd, pid, "pgrp session" (/proc/PID/stat fields 5, 6),
# its ignored signals, its open descriptors (by its own glob: a pipeline's ends would show
# too, for a while), one variable
SELF = (
    'pwd; echo $$; cut -d" " -f5,6 /proc/$$/stat; grep SigIgn /proc/$$/status; '
    'for f in /proc/$$/fd/*; do printf "%s " "${f##*/}"; done; echo; echo "X=$X"'
)


def started(how: str, cwd: Path, env: dict[str, str]) -> list[str]:
    """SELF's lines, run by `how` (launch or Popen, as the runner called it before)."""
    read, write = os.pipe()
    devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    argv = ["sh", "-c", SELF]
    try:
        if how == "launch":
            child: launch.Child | subprocess.Popen[bytes] = launch.spawn(
                "/bin/sh", argv, env, cwd, (devnull, write, write)
            )
        else:
            child = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=devnull, stdout=write, stderr=write,
                start_new_session=True,
            )  # fmt: skip
        os.close(write)
        write = -1
        with os.fdopen(read, "rb") as out:
            read = -1
            text = out.read().decode()
        assert child.wait(timeout=10) == 0
        return [text.splitlines()[1], *text.splitlines()]
    finally:
        for fd in (read, write, devnull):
            if fd >= 0:
                os.close(fd)


def test_the_child_gets_what_popen_gave_it(tmp_path: Path) -> None:
    leaked = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(leaked, True)  # a descriptor the child must not get all the same
    env = {"PATH": os.environ["PATH"], "X": "a b=c"}
    try:
        by_launch = started("launch", tmp_path, env)
        by_popen = started("popen", tmp_path, env)
    finally:
        os.close(leaked)
    pid, cwd, _, session, ignored, fds, variable = by_launch
    assert cwd == str(tmp_path) and variable == "X=a b=c"
    assert session == f"{pid} {pid}"  # its own process group and session
    mask = int(ignored.split()[1], 16)
    assert not mask & (1 << (signal.SIGPIPE - 1)) and not mask & (1 << (signal.SIGXFSZ - 1))
    assert str(leaked) not in fds.split() and fds.split()[:3] == ["0", "1", "2"]
    # everything but the pid (and so the session) is what Popen gives
    assert by_launch[1:2] + by_launch[4:] == by_popen[1:2] + by_popen[4:]


def test_failures_are_popen_failures(tmp_path: Path) -> None:
    fds = (0, 1, 2)
    with pytest.raises(OSError) as missing:
        launch.spawn(str(tmp_path / "nope"), ["nope"], {}, tmp_path, fds)
    assert missing.value.errno == errno.ENOENT
    plain = tmp_path / "plain.txt"
    plain.write_text("not a program")
    with pytest.raises(OSError) as denied:
        launch.spawn(str(plain), ["plain.txt"], {}, tmp_path, fds)
    assert denied.value.errno == errno.EACCES
    script = tmp_path / "bad.sh"
    script.write_text("#!/no/such/interpreter\n")
    script.chmod(0o755)
    with pytest.raises(OSError) as interpreter:
        launch.spawn(str(script), ["bad.sh"], {}, tmp_path, fds)
    assert interpreter.value.errno == errno.ENOENT
    with pytest.raises(OSError):
        launch.spawn("/bin/true", ["true"], {}, tmp_path / "no-such-dir", fds)
    for argv, env in ((["a\0b"], {}), (["true"], {"A=B": "1"}), (["true"], {"A": "\0"})):
        with pytest.raises(ValueError):
            subprocess.Popen(argv, executable="/bin/true", env=env)
        with pytest.raises(ValueError):
            launch.spawn("/bin/true", argv, env, tmp_path, fds)


def test_wait_polls_and_times_out_like_popen(tmp_path: Path) -> None:
    child = launch.spawn("/bin/sh", ["sh", "-c", "exit 3"], {}, tmp_path, (0, 1, 2))
    assert child.wait() == 3 and child.poll() == 3
    sleeper = launch.spawn("/bin/sleep", ["sleep", "30"], {}, tmp_path, (0, 1, 2))
    try:
        assert sleeper.poll() is None
        with pytest.raises(subprocess.TimeoutExpired):
            sleeper.wait(timeout=0.05)
    finally:
        os.kill(sleeper.pid, signal.SIGKILL)
    assert sleeper.wait(timeout=10) == -signal.SIGKILL


def test_many_threads_can_start_children_at_once(tmp_path: Path) -> None:
    codes: list[int] = []

    def start() -> None:
        for _ in range(20):
            child = launch.spawn("/bin/sh", ["sh", "-c", "exit 7"], {}, tmp_path, (0, 1, 2))
            codes.append(child.wait(timeout=10))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert codes == [7] * 80


def run(tmp_path: Path, argv: list[str], **fields: object) -> tuple[object, list[str], str]:
    """Through the runner: the process it started, the lines, the outcome's reason."""
    events = RecordingEvents()
    spec = ProcessSpec(
        argv=argv, cwd=tmp_path, log_path=tmp_path / "task.log", env=dict(os.environ),
        timeout=20.0, stall_after=60.0, **fields,  # type: ignore[arg-type]
    )  # fmt: skip
    watch = runner.start_process(spec, plain_lines, events, threading.Event())
    outcome = watch.wait(timeout=20)
    assert outcome is not None
    return watch.process, list(events.lines), outcome.reason


def test_the_runner_spawns_and_falls_back_to_popen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tool.sh").write_text('#!/bin/sh\necho "in $(pwd)"\n')
    (tmp_path / "tool.sh").chmod(0o755)
    process, lines, reason = run(tmp_path, ["./tool.sh"])  # relative: to the cwd
    assert isinstance(process, launch.Child) and lines == [f"in {tmp_path}"] and reason == "ok"
    echo = [sys.executable, "-c", "print('piped')"]
    process, lines, reason = run(tmp_path, echo, stdin_pipe=True)  # Popen makes the pipe
    assert isinstance(process, subprocess.Popen) and process.stdin is not None
    assert lines == ["piped"] and reason == "ok"
    monkeypatch.setattr(launch, "available", lambda: False)  # musl, macOS, an old glibc
    process, lines, reason = run(tmp_path, ["./tool.sh"])
    assert isinstance(process, subprocess.Popen) and lines == [f"in {tmp_path}"]


def test_a_program_gone_after_the_check_is_a_clear_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "tool.sh"
    tool.write_text("#!/bin/sh\necho hi\n")
    tool.chmod(0o755)
    real = runner.find_executable
    calls: list[str] = []

    def vanishing(name: str, env: object, cwd: Path) -> str | None:
        calls.append(name)
        found = real(name, env, cwd)  # type: ignore[arg-type]
        tool.unlink(missing_ok=True)  # deleted between the check and the start
        return found

    monkeypatch.setattr(runner, "find_executable", vanishing)
    monkeypatch.setattr("orchestrator_tui.agents.spec.find_executable", vanishing)
    _process, lines, reason = run(tmp_path, ["./tool.sh"])
    assert reason == "could not start ./tool.sh: No such file or directory"
    assert calls == ["./tool.sh", "./tool.sh"] and not lines[:-1]


def test_each_child_gets_its_own_values_of_a_variable(tmp_path: Path) -> None:
    """The encoded NAME=VALUE pairs are kept between starts: a new value is a new pair."""
    seen = []
    for value in ("one", "two", "one", "a=b c"):
        read, write = os.pipe()
        try:
            child = launch.spawn(
                "/bin/sh", ["sh", "-c", 'printf %s "$T"'], {"T": value}, tmp_path, (0, write, 2)
            )
            os.close(write)
            write = -1
            with os.fdopen(read, "rb") as out:
                read = -1
                seen.append(out.read().decode())
            assert child.wait(timeout=10) == 0
        finally:
            for fd in (read, write):
                if fd >= 0:
                    os.close(fd)
    assert seen == ["one", "two", "one", "a=b c"]
