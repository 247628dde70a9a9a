"""Supervised subprocesses: how every CLI backend starts, watches and stops its agent.

`start_process(spec, on_line, events, cancel, on_exit)` starts an argv list (never a shell
string) in its own process group, with its own working directory and environment, and
hands it to the one supervisor loop of the process (supervisor.py), which reads every
running agent's stdout and stderr with a selector — no thread per agent or per pipe:

- every byte goes to the task's log file (a long line is streamed to it in pieces, so a
  50 MB line costs no more memory than a short one);
- each line, masked (lines.py: once, for the log with `redact`, always for the views),
  decoded as UTF-8 with replacement and capped at MAX_LINE_BYTES, goes to the backend's
  `on_line`; the display lines it returns reach `events.output`, one call per agent and
  loop turn (no timer: a line is handed on in the turn that read it);
- the time of the last output is the heartbeat: silence for `stall_after` seconds gives one
  warning (`events.notice`) per silence, `timeout` seconds in all stop the agent;
- the `cancel` event stops it too. Stopping means the whole process group: SIGTERM, then
  SIGKILL after a grace period (procgroup.KILL_GRACE), grandchildren included. When the
  agent exits on its own, whatever it left running in its group is stopped the same way,
  so a background process that outlives its parent cannot keep the pipes busy.

With a `pidfile`, the group id and a token (also put in the agent's environment) are kept
there while the agent runs; the next start with the same pidfile first kills a group left
from an orchestrator that died without cleaning up (SIGKILL), if its processes carry the
token.

The handle `start_process` returns (a `Watch`):
- `send(data: bytes) -> bool` queues bytes for the agent's stdin (spec.stdin_pipe=True);
  any thread, never blocks; the supervisor writes them as the pipe takes them. False when
  stdin is not a pipe or is closed already.
- `close_stdin()` closes stdin once everything queued was written (EOF for the agent).
- `stop()` stops the agent as a cancel would; `wait(timeout)` → the outcome or None;
  `outcome` is set once it ended.
Threads: `on_line`, `events.*` and `on_exit(outcome)` run in the supervisor's loop (they
must not block: put inputs for the engine, or `send`). The process itself is started on the
caller's thread (fork+exec, about half a millisecond: a thread of its own to do it cost more
in handing the GIL back and forth than it saved, bench/RESULTS.md); an agent that cannot
start gets its `on_exit` there, before start_process returns. `send` works from the moment
start_process returns.
`run_process(...)` is start_process + wait, for callers that want to block.

The outcome says why it ended: ok, exit N, timeout, cancelled, killed by signal N, or why it
never started. Retries are the engine's business (engine/implement.py), not the runner's.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import signal
import subprocess
import threading
import time
from typing import IO

from ..core.protocols import AgentEvents
from ..infra.fsutil import open_append, write_file
from . import launch, procgroup, supervisor
from .lines import MAX_LINE_BYTES, READ_CHUNK, decode_line
from .spec import (
    DISPLAY_CHARS,
    ExitHandler,
    LineHandler,
    ProcessOutcome,
    ProcessSpec,
    Stream,
    cannot_start,
    clip_display,
    close_quietly,
    describe_argv,
    find_executable,
    header,
    merged_env,
    plain_lines,
    write_marker,
)
from .watch import Watch

__all__ = [
    "DISPLAY_CHARS",
    "MAX_LINE_BYTES",
    "READ_CHUNK",
    "LineHandler",
    "ProcessOutcome",
    "ProcessSpec",
    "Stream",
    "Watch",
    "clip_display",
    "decode_line",
    "find_executable",
    "merged_env",
    "plain_lines",
    "run_process",
    "start_process",
]


def start_process(
    spec: ProcessSpec,
    on_line: LineHandler,
    events: AgentEvents,
    cancel: threading.Event,
    on_exit: ExitHandler | None = None,
) -> Watch:
    """Start `spec` under the shared supervisor; never raises for a process that fails or
    cannot start (its outcome says why). See the module docstring for the threads."""
    started = time.monotonic()
    problem = cannot_start(spec)
    if problem:
        write_marker(spec, None, header(spec, f"not started: {problem}"))
        return Watch.not_started(spec, events, problem, on_exit, announce=True)
    watch = Watch(spec, on_line, events, cancel, on_exit, started)
    spawn(watch)
    return watch


def spawn(watch: Watch) -> None:
    """Start the watch's process and hand it to the supervisor."""
    spec, log = watch.spec, None
    try:
        for path, text in spec.files:
            write_file(path, text.encode("utf-8"))
        log = open_append(spec.log_path)
        write_marker(spec, log, header(spec, f"$ {describe_argv(spec.argv)}  (in {spec.cwd})"))
        started, problem = popen(spec, watch.events)
    except Exception as exc:  # e.g. the log's disk is full: the attempt fails, said why
        started, problem = None, f"could not start {spec.argv[0]}: {type(exc).__name__}: {exc}"
    if started is None:
        if log is not None:
            with contextlib.suppress(OSError):
                write_marker(spec, log, f"=== {problem} after 0.0 s")
            close_quietly(log)
        watch.never_started(problem)
        return
    assert log is not None
    watch.attach(*started, log=log)
    supervisor.shared().add(watch)


@functools.cache
def devnull() -> int:
    """/dev/null opened once, for every agent's stdin (Popen would open it anew each time)."""
    return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)


# the process and the read ends of its stdout and stderr
Started = tuple[subprocess.Popen[bytes] | launch.Child, int, int]


def popen(spec: ProcessSpec, events: AgentEvents) -> tuple[Started | None, str]:
    """Start `spec`'s process on pipes of our own (raw descriptors: the supervisor reads them
    with os.read, so Popen's file objects would be system calls and garbage for nothing)."""
    try:
        stdin: IO[bytes] | int = (
            spec.stdin_path.open("rb")
            if spec.stdin_path
            else subprocess.PIPE
            if spec.stdin_pipe
            else devnull()
        )
    except OSError as exc:
        return None, f"could not read {spec.stdin_path}: {exc.strerror or exc}"
    env = dict(spec.env)
    token = procgroup.new_token()
    if spec.pidfile is not None:
        leftovers = procgroup.kill_leftovers(spec.pidfile)
        if leftovers:
            events.notice("warning", f"killed {leftovers} process(es) left from an earlier attempt")
        env[procgroup.TOKEN_VARIABLE] = token
    out, out_w = os.pipe()
    err, err_w = os.pipe()
    process: subprocess.Popen[bytes] | launch.Child | None = None
    try:
        fds = (stdin if isinstance(stdin, int) else stdin.fileno(), out_w, err_w)
        if stdin != subprocess.PIPE and min(fds) > 2 and launch.available():
            program = find_executable(spec.argv[0], env, spec.cwd)
            if program is None:  # gone since cannot_start looked
                raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
            process = launch.spawn(program, spec.argv, env, spec.cwd, fds)
        else:  # a pipe to its stdin (Popen makes it), or no posix_spawn to use
            process = subprocess.Popen(
                list(spec.argv),
                cwd=spec.cwd,
                env=env,
                stdin=stdin,
                stdout=out_w,
                stderr=err_w,
                start_new_session=True,
            )
    except OSError as exc:
        return None, f"could not start {spec.argv[0]}: {exc.strerror or exc}"
    finally:
        for fd in (out_w, err_w) if process else (out_w, err_w, out, err):
            os.close(fd)
        if not isinstance(stdin, int):
            stdin.close()
    if spec.pidfile is not None:
        try:
            procgroup.write_pidfile(spec.pidfile, process.pid, token)
        except OSError as exc:  # e.g. a full disk: an agent we could not find again must not run
            with contextlib.suppress(OSError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            os.close(out)
            os.close(err)
            return None, f"could not record {spec.pidfile.name}: {exc.strerror or exc}"
    return (process, out, err), ""


def run_process(
    spec: ProcessSpec,
    on_line: LineHandler,
    events: AgentEvents,
    cancel: threading.Event,
) -> ProcessOutcome:
    """Run `spec` under supervision (blocking); `on_line(text, stream)` returns the lines to
    show for each output line. Never raises for a process that fails or cannot start."""
    watch = start_process(spec, on_line, events, cancel)
    outcome = watch.wait()
    assert outcome is not None
    return outcome
