"""The one supervisor thread: many agents at once, stdin kept open, one stuck agent holds
up no other, a failing parser or exit handler ends only its own agent."""

from __future__ import annotations

import os
import sys
import textwrap
import threading
import time
from pathlib import Path

from agent_support import RecordingEvents

from orchestrator_tui.agents import procgroup, runner, supervisor
from orchestrator_tui.agents.runner import ProcessSpec, plain_lines, start_process


def spec(tmp_path: Path, name: str, code: str, **fields: object) -> ProcessSpec:
    values: dict = {
        "argv": [sys.executable, "-c", textwrap.dedent(code)],
        "cwd": tmp_path,
        "log_path": tmp_path / "logs" / f"{name}.log",
        "env": dict(os.environ),
        "timeout": 30.0,
        "stall_after": 60.0,
    }
    values.update(fields)
    return ProcessSpec(**values)


def agent_threads() -> list[str]:
    names = ("agent-supervisor", "agent-stdout", "agent-stderr", "agent-spawn")
    return [t.name for t in threading.enumerate() if t.name in names]


def test_many_agents_share_one_thread_and_every_line_arrives(tmp_path: Path) -> None:
    code = """
        import sys
        for i in range(3000):
            print(f"{sys.argv[1]} {i}")
            print(f"err {i}", file=sys.stderr)
    """
    agents = 12
    watches = []
    recorders = []
    for n in range(agents):
        events = RecordingEvents()
        recorders.append(events)
        s = spec(tmp_path, f"A{n}", code)
        s = ProcessSpec(**{**s.__dict__, "argv": [*s.argv, f"A{n}"]})
        watches.append(start_process(s, plain_lines, events, threading.Event()))
    deadline = time.monotonic() + 30
    while not all(r.line_count for r in recorders) and time.monotonic() < deadline:
        time.sleep(0.005)
    # while they all run: one supervisor, not three threads an agent (and none to start
    # them: a process starts on the caller's thread)
    names = agent_threads()
    assert names.count("agent-supervisor") == 1
    assert "agent-stdout" not in names and "agent-stderr" not in names
    assert "agent-spawn" not in names
    outcomes = [w.wait(timeout=60) for w in watches]
    assert all(o is not None and o.ok for o in outcomes), outcomes
    for n, events in enumerate(recorders):
        shown = [line for line in events.lines if line.startswith(f"A{n} ")]
        assert shown == [f"A{n} {i}" for i in range(3000)]
        assert events.line_count == 6000
        log = (tmp_path / "logs" / f"A{n}.log").read_text()
        assert log.count("\n") == 6000 + 2  # + header and footer


def test_stdin_stays_open_for_send_and_closes_on_request(tmp_path: Path) -> None:
    code = """
        import sys
        for line in sys.stdin:
            print("got", line.strip(), flush=True)
        print("eof", flush=True)
    """
    events = RecordingEvents()
    replies: list[str] = []
    watch = None

    def on_line(text: str, stream: str) -> list[str]:
        # an answer written from the parser itself (the supervisor thread), as a
        # stream-json control reply would be
        if text == "got ping" and watch is not None:
            watch.send(b"pong\n")
            watch.close_stdin()
        replies.append(text)
        return [text]

    watch = start_process(
        spec(tmp_path, "T", code, stdin_pipe=True), on_line, events, threading.Event()
    )
    assert watch.send(b"hello\n")
    assert watch.send(b"x" * 200_000 + b"\n")  # more than a pipe holds: queued, not blocked
    assert watch.send(b"ping\n")
    outcome = watch.wait(timeout=30)
    assert outcome is not None and outcome.ok, outcome
    assert replies[0] == "got hello" and replies[1] == "got " + "x" * 200_000
    assert replies[2:] == ["got ping", "got pong", "eof"]
    assert not watch.send(b"too late\n")


def test_without_stdin_pipe_send_says_no(tmp_path: Path) -> None:
    watch = start_process(
        spec(tmp_path, "T", "print('hi')"), plain_lines, RecordingEvents(), threading.Event()
    )
    assert not watch.send(b"x")
    outcome = watch.wait(timeout=30)
    assert outcome is not None and outcome.ok


def test_a_stubborn_agent_being_killed_holds_up_no_other(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(procgroup, "KILL_GRACE", 2.0)
    stubborn = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stubborn", flush=True)
        time.sleep(3600)
    """
    chatty = """
        import time
        for i in range(40):
            print(i, flush=True)
            time.sleep(0.025)
    """
    cancel = threading.Event()
    first = RecordingEvents()
    slow = start_process(spec(tmp_path, "S", stubborn), plain_lines, first, cancel)
    deadline = time.monotonic() + 10
    while "stubborn" not in first.lines and time.monotonic() < deadline:
        time.sleep(0.01)
    cancel.set()  # SIGTERM is ignored: the grace period runs…
    events = RecordingEvents()
    started = time.monotonic()
    other = start_process(spec(tmp_path, "C", chatty), plain_lines, events, threading.Event())
    outcome = other.wait(timeout=30)
    assert outcome is not None and outcome.ok
    assert time.monotonic() - started < 1.9, "the other agent waited for the grace period"
    assert events.lines == [str(i) for i in range(40)]
    ended = slow.wait(timeout=30)
    assert ended is not None and ended.cancelled


def test_a_failing_exit_handler_or_parser_ends_only_its_agent(tmp_path: Path) -> None:
    def bad_exit(outcome: object) -> None:
        raise RuntimeError("boom")

    watch = start_process(
        spec(tmp_path, "B", "print('x')"),
        plain_lines,
        RecordingEvents(),
        threading.Event(),
        bad_exit,
    )
    assert watch.wait(timeout=30) is not None
    assert supervisor.shared().thread.is_alive()

    def bad_parser(text: str, stream: str) -> list[str]:
        raise ValueError("bad parser")

    events = RecordingEvents()
    watch = start_process(
        spec(tmp_path, "P", "print('line')"), bad_parser, events, threading.Event()
    )
    outcome = watch.wait(timeout=30)
    assert outcome is not None and outcome.ok
    assert events.lines == ["line", "[orchestrator] could not parse that line: bad parser"]
    assert supervisor.shared().thread.is_alive()


def test_send_before_the_process_exists_waits_for_it(tmp_path: Path) -> None:
    code = "import sys; print(sys.stdin.read().strip())"
    events = RecordingEvents()
    watch = start_process(
        spec(tmp_path, "S", code, stdin_pipe=True), plain_lines, events, threading.Event()
    )
    assert watch.send(b"early\n")  # before the agent read anything
    watch.close_stdin()
    outcome = watch.wait(timeout=30)
    assert outcome is not None and outcome.ok
    assert events.lines == ["early"]


def test_on_exit_gets_the_outcome_without_a_waiting_thread(tmp_path: Path) -> None:
    got: list = []
    ended = threading.Event()

    def on_exit(outcome: object) -> None:
        got.append((outcome, threading.current_thread().name))
        ended.set()

    start_process(
        spec(tmp_path, "E", "import sys; sys.exit(4)"),
        plain_lines,
        RecordingEvents(),
        threading.Event(),
        on_exit,
    )
    assert ended.wait(timeout=30)
    outcome, thread = got[0]
    assert outcome.reason == "exit 4" and thread == "agent-supervisor"

    start_process(
        spec(tmp_path, "M", "", argv=["no-such-agent-xyz"]),
        plain_lines,
        RecordingEvents(),
        threading.Event(),
        on_exit,
    )
    assert got[1][0].reason == "executable not found: no-such-agent-xyz"  # at once


def test_an_agent_whose_pidfile_cannot_be_written_does_not_run_on(
    tmp_path: Path, monkeypatch
) -> None:
    """Without its pidfile no later start could find the group again: the agent is stopped
    at once and the start fails with the reason."""
    started: list[int] = []

    def full_disk(pidfile: Path, pgid: int, token: str) -> None:
        started.append(pgid)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(procgroup, "write_pidfile", full_disk)
    events = RecordingEvents()
    s = spec(tmp_path, "P", "import time; time.sleep(60)", pidfile=tmp_path / "logs" / "P.pid")
    outcome = start_process(s, plain_lines, events, threading.Event()).wait(timeout=30)
    assert outcome is not None and not outcome.started
    assert "could not record P.pid: No space left on device" in outcome.reason
    assert len(started) == 1
    try:
        os.kill(started[0], 0)
    except ProcessLookupError:
        pass  # killed and reaped
    else:
        raise AssertionError("the agent still runs")


def test_a_start_that_fails_leaves_no_descriptor_open(tmp_path: Path) -> None:
    """Our own pipes are closed whatever Popen raises (an OSError or, for a NUL in an
    argument, a ValueError)."""
    runner.devnull()  # opened once for the process
    before = len(os.listdir("/proc/self/fd"))
    for argv in ([str(tmp_path)], [sys.executable, "-c", "pass\0"]):  # a directory; a NUL
        s = spec(tmp_path, "F", "pass", argv=argv)
        outcome = start_process(s, plain_lines, RecordingEvents(), threading.Event()).wait(10)
        assert outcome is not None and not outcome.started, outcome
    assert len(os.listdir("/proc/self/fd")) == before
