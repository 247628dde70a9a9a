"""The supervised-process runner: process groups, timeouts, cancel, floods, bad bytes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from agent_support import RecordingEvents, fake, pid_alive, read_pid, wait_dead

from orchestrator_tui.agents import procgroup, runner
from orchestrator_tui.agents.runner import ProcessSpec, plain_lines, run_process


def spec(tmp_path: Path, argv: list[str], **fields: object) -> ProcessSpec:
    values: dict = {
        "argv": argv,
        "cwd": tmp_path,
        "log_path": tmp_path / "logs" / "task.log",
        "env": dict(os.environ),
        "timeout": 20.0,
        "stall_after": 60.0,
    }
    values.update(fields)
    return ProcessSpec(**values)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def run(tmp_path: Path, argv: list[str], cancel: threading.Event | None = None, **fields: object):
    events = RecordingEvents()
    outcome = run_process(
        spec(tmp_path, argv, **fields), plain_lines, events, cancel or threading.Event()
    )
    return outcome, events


def test_exit_codes_and_output_reach_the_log_and_the_events(tmp_path: Path) -> None:
    code = """
        import sys
        print("hello")
        print("oops", file=sys.stderr)
        sys.exit(3)
    """
    outcome, events = run(tmp_path, python(code))
    assert outcome.reason == "exit 3" and outcome.exit_code == 3 and outcome.started
    assert outcome.stderr_tail == ("oops",)
    assert set(events.lines) == {"hello", "oops"}
    log = (tmp_path / "logs" / "task.log").read_text()
    assert "hello\n" in log and "oops\n" in log
    assert log.splitlines()[-1].startswith("=== exit 3 after")
    # the header names the command on one line, though the code argument has several
    assert log.splitlines()[0].startswith("=== ") and "import sys\\n" in log.splitlines()[0]
    assert set(log.splitlines()[1:3]) == {"hello", "oops"}

    outcome, _ = run(tmp_path, python("print('fine')"))
    assert outcome.ok and outcome.reason == "ok" and outcome.exit_code == 0


def test_killed_by_a_signal_says_which(tmp_path: Path) -> None:
    outcome, _ = run(tmp_path, python("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"))
    assert outcome.reason == "killed by signal 11 (SIGSEGV)"
    assert outcome.exit_code is None


def test_a_missing_executable_or_directory_is_a_clear_reason(tmp_path: Path) -> None:
    outcome, events = run(tmp_path, ["no-such-agent-xyz", "--help"])
    assert not outcome.started
    assert outcome.reason == "executable not found: no-such-agent-xyz"
    assert events.lines == ["[orchestrator] executable not found: no-such-agent-xyz"]
    assert "not started" in (tmp_path / "logs" / "task.log").read_text()

    outcome, _ = run(tmp_path, ["true"], cwd=tmp_path / "gone")
    assert not outcome.started and "does not exist" in outcome.reason

    outcome, _ = run(tmp_path, [])
    assert not outcome.started and "empty" in outcome.reason


def test_timeout_kills_the_process(tmp_path: Path) -> None:
    started = time.monotonic()
    outcome, _ = run(
        tmp_path, python("import time; print('up', flush=True); time.sleep(60)"), timeout=0.5
    )
    assert outcome.timed_out and outcome.reason == "timeout after 0.5 s"
    assert time.monotonic() - started < 5


def test_a_stall_warns_once_per_silence(tmp_path: Path) -> None:
    code = """
        import time
        print("one", flush=True)
        time.sleep(1.2)
        print("two", flush=True)
        time.sleep(1.2)
    """
    outcome, events = run(tmp_path, python(code), stall_after=0.4)
    assert outcome.ok
    timeline = events.timeline
    after_one = timeline[timeline.index(("line", "one")) + 1 :]
    between = after_one[: after_one.index(("line", "two"))]
    after_two = after_one[after_one.index(("line", "two")) + 1 :]
    # one warning for each silence, however long it lasts (start-up is a silence too)
    assert [kind for kind, _ in between] == ["notice"]
    assert [kind for kind, _ in after_two] == ["notice"]
    assert all("no output for" in text for kind, text in timeline if kind == "notice")


def grandchild_script(pidfile: Path) -> list[str]:
    """A parent that starts a grandchild (which writes its pid), then waits forever."""
    return python(
        f"""
        import subprocess, sys, time
        code = "import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); "
        code += "time.sleep(3600)"
        subprocess.Popen([sys.executable, "-c", code])
        print("started", flush=True)
        time.sleep(3600)
        """
    )


def test_cancel_kills_the_whole_group_grandchildren_included(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild.pid"
    cancel = threading.Event()
    result: list = []
    worker = threading.Thread(
        target=lambda: result.append(run(tmp_path, grandchild_script(pidfile), cancel))
    )
    worker.start()
    grandchild = read_pid(pidfile)
    assert pid_alive(grandchild)
    cancel.set()
    worker.join(timeout=10)
    outcome, _ = result[0]
    assert outcome.cancelled and outcome.reason == "cancelled"
    assert wait_dead(grandchild), "the grandchild outlived the cancel"


def test_a_process_that_ignores_sigterm_gets_sigkill(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(procgroup, "KILL_GRACE", 0.3)
    code = """
        import os, signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("stubborn", os.getpid(), flush=True)
        time.sleep(3600)
    """
    cancel = threading.Event()
    pids: list[int] = []

    def cancel_when_stubborn(text: str, stream: str) -> list[str]:
        if text.startswith("stubborn"):  # SIGTERM is ignored from here on
            pids.append(int(text.split()[1]))
            cancel.set()
        return [text]

    started = time.monotonic()
    outcome = run_process(
        spec(tmp_path, python(code)), cancel_when_stubborn, RecordingEvents(), cancel
    )
    assert outcome.cancelled and outcome.reason == "cancelled"
    assert time.monotonic() - started < 8
    assert not pid_alive(pids[0]), "SIGTERM was ignored and nothing followed it"


def test_an_orphan_that_outlives_its_parent_dies_too(tmp_path: Path) -> None:
    """The fake claude exits normally but leaves a child holding stdout and stderr open."""
    pidfile = tmp_path / "orphan.pid"
    env = {**os.environ, "FAKE_AGENT_PIDFILE": str(pidfile)}
    argv = [fake("claude"), "-p", "SCENARIO: orphan", "--output-format", "stream-json", "--verbose"]
    started = time.monotonic()
    outcome, events = run(tmp_path, argv, env=env)
    orphan = read_pid(pidfile)
    assert outcome.reason == "ok", outcome
    assert time.monotonic() - started < 8, "the runner waited for the orphan's pipes"
    assert wait_dead(orphan), "the orphan is still running"
    assert any('"type":"result"' in line for line in events.lines)


def test_non_utf8_output_is_replaced_not_fatal(tmp_path: Path) -> None:
    code = r"""
        import sys
        sys.stdout.buffer.write(b"caf\xe9 \xff\xfe ok\n")
        sys.stderr.buffer.write(b"\xc3(\n")
    """
    outcome, events = run(tmp_path, python(code))
    assert outcome.ok
    assert "caf\ufffd \ufffd\ufffd ok" in events.lines
    assert b"caf\xe9 \xff\xfe ok\n" in (tmp_path / "logs" / "task.log").read_bytes()


def test_a_huge_single_line_is_cut_for_the_parser_but_whole_in_the_log(tmp_path: Path) -> None:
    size = 5 * 1024 * 1024
    code = f"""
        import sys
        sys.stdout.write("x" * {size})
        sys.stdout.write("\\nafter\\n")
    """
    seen: list[str] = []

    def handler(text: str, stream: str) -> list[str]:
        seen.append(text)
        return [text]

    events = RecordingEvents()
    outcome = run_process(spec(tmp_path, python(code)), handler, events, threading.Event())
    assert outcome.ok
    assert len(seen) == 2 and seen[1] == "after"
    assert len(seen[0]) < runner.MAX_LINE_BYTES + 200
    assert seen[0].endswith(f"[line cut: {size - runner.MAX_LINE_BYTES:,} more bytes in the log]")
    assert all(len(line) < runner.DISPLAY_CHARS + 100 for line in events.lines)
    log = (tmp_path / "logs" / "task.log").read_bytes()
    assert b"x" * size + b"\nafter\n" in log


FLOOD_CHILD = """
import json, os, resource, sys, threading
from pathlib import Path
from orchestrator_tui.agents.claude import ClaudeBackend
from orchestrator_tui.core.config import AgentProfile
from orchestrator_tui.core.models import Task
from orchestrator_tui.core.protocols import AgentJob

class Counting:
    lines = 0
    usages = []
    def output(self, lines): Counting.lines += len(lines)
    def usage(self, i, o, c): Counting.usages.append((i, o, c))
    def notice(self, level, text): pass

tmp = Path(sys.argv[1])
profile = AgentProfile(executable=sys.argv[2])
job = AgentJob(run_id="r", task=Task(id="T1", title="flood"), profile_name="claude",
               profile=profile, prompt="SCENARIO: flood", prompt_file=tmp / "p.md",
               workdir=tmp, log_path=tmp / "flood.log", timeout=120)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = ClaudeBackend("claude", profile).run(job, Counting(), threading.Event())
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ok": result.ok, "reason": result.reason, "grew_kb": after - before,
                  "lines": Counting.lines, "usages": Counting.usages}))
"""


def test_fifty_megabytes_of_output_in_bounded_memory_every_line_logged(tmp_path: Path) -> None:
    env = {**os.environ, "FAKE_AGENT_FLOOD_MB": "50"}
    argv = [fake("claude"), "-p", "SCENARIO: flood", "--output-format", "stream-json", "--verbose"]
    reference = tmp_path / "reference.out"
    with reference.open("wb") as out:
        subprocess.run(
            argv,
            stdout=out,
            stderr=subprocess.DEVNULL,
            env=env,
            timeout=120,
            check=True,
            cwd=tmp_path,
        )
    expected_lines = reference.read_bytes().count(b"\n")
    reference.unlink()

    child = subprocess.run(
        [sys.executable, "-c", FLOOD_CHILD, str(tmp_path), fake("claude")],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["ok"], report["reason"]
    # 50 MB went through; the runner's process grew by far less than that
    assert report["grew_kb"] < 30 * 1024, f"memory grew by {report['grew_kb']} KiB"
    log = (tmp_path / "flood.log").read_bytes()
    assert log.count(b"\n") == expected_lines + 2  # + our header and footer lines
    assert len(log) > 50 * 1024 * 1024
    assert report["lines"] >= expected_lines - 1  # every line shown (init is one line)
    assert report["usages"][-1][2] > 0  # the result line after the flood was parsed


def test_key_like_strings_are_masked_in_the_log_and_the_events(tmp_path: Path) -> None:
    key = "sk-ant-api03-" + "A1b2" * 10
    code = f"""
        print("using {key} now")
        print("aws AKIAABCDEFGHIJKLMNOP and github ghp_{"x" * 36}")
    """
    outcome, events = run(tmp_path, python(code))
    assert outcome.ok
    log = (tmp_path / "logs" / "task.log").read_text()
    assert key not in log and "AKIAABCDEFGHIJKLMNOP" not in log and "x" * 36 not in log
    assert "using sk-ant-[redacted] now" in events.lines
    assert "aws AKIAABC[redacted] and github ghp_xxx[redacted]" in events.lines

    plain = tmp_path / "plain"
    plain.mkdir()
    outcome, events = run(plain, python(code), redact=False)
    # run.redact = false keeps a raw log; the lines for views are masked all the same
    # (here, once: the engine does not mask them again)
    assert "using sk-ant-[redacted] now" in events.lines
    assert key in (plain / "logs" / "task.log").read_text()


def test_leftovers_of_a_killed_orchestrator_die_before_the_next_attempt(tmp_path: Path) -> None:
    pidfile = tmp_path / "logs" / "task.pid"
    pidfile.parent.mkdir(parents=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(3600)"]
    # an agent whose orchestrator died: its own session, the token of the pidfile in its env
    leftover = subprocess.Popen(
        sleeper, env={**os.environ, "ORCH_AGENT_TOKEN": "abc123"}, start_new_session=True
    )
    stranger = subprocess.Popen(sleeper, start_new_session=True)  # a reused pid: no token
    try:
        time.sleep(0.2)  # let both exec, so their environment is readable
        pidfile.write_text(f"{leftover.pid} abc123\n")
        recorded: list[str] = []

        def note_pidfile(text: str, stream: str) -> list[str]:
            recorded.append(procgroup.kept_at(pidfile).read_text())
            return [text]

        code = "import os; print(os.getpgid(0), os.environ['ORCH_AGENT_TOKEN'])"
        events = RecordingEvents()
        outcome = run_process(
            spec(tmp_path, python(code), pidfile=pidfile), note_pidfile, events, threading.Event()
        )
        assert outcome.ok
        assert leftover.wait(timeout=5) == -signal.SIGTERM
        assert any("left from an earlier attempt" in text for _, text in events.notices)
        assert recorded[0].split() == events.lines[0].split()  # pgid and token, while it ran
        assert not pidfile.exists() and not procgroup.kept_at(pidfile).exists()

        pidfile.write_text(f"{stranger.pid} abc123\n")
        outcome, _ = run(tmp_path, python("print('again')"), pidfile=pidfile)
        assert outcome.ok
        assert stranger.poll() is None, "a process without our token was killed"
    finally:
        for process in (leftover, stranger):
            process.kill()
            process.wait(timeout=5)
