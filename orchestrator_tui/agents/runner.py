"""Supervised subprocesses: how every CLI backend starts, watches and stops its agent.

`start_process(spec, on_line, events, cancel, on_exit)` starts an argv list (never a shell
string) in its own process group, with its own working directory and environment, and
hands it to the one supervisor thread of the process (supervisor.py), which reads every
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
Threads: `on_line`, `events.*` and `on_exit(outcome)` run on the supervisor thread (they
must not block: put inputs for the engine, or `send`); only an agent that never started
gets its `on_exit` on the caller's thread, before start_process returns.
`run_process(...)` is start_process + wait, for callers that want to block.

The outcome says why it ended: ok, exit N, timeout, cancelled, killed by signal N, or why it
never started. Retries are the engine's business (engine/implement.py), not the runner's.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from ..core.protocols import AgentEvents
from . import procgroup, supervisor
from .lines import MAX_LINE_BYTES, READ_CHUNK, decode_line
from .redact import redact_secrets

if TYPE_CHECKING:
    from .watch import Watch

Stream = Literal["stdout", "stderr"]
LineHandler = Callable[[str, Stream], Sequence[str]]
ExitHandler = Callable[["ProcessOutcome"], None]

__all__ = ["MAX_LINE_BYTES", "READ_CHUNK", "decode_line"]
DISPLAY_CHARS = 2000


@dataclass(frozen=True)
class ProcessSpec:
    """What to start and how to watch it."""

    argv: Sequence[str]
    cwd: Path
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 1800.0
    stall_after: float = 120.0
    label: str = ""
    stdin_path: Path | None = None
    redact: bool = True
    pidfile: Path | None = None
    stdin_pipe: bool = False  # keep stdin open for Watch.send (stream-json, ACP)


@dataclass(frozen=True)
class ProcessOutcome:
    """How a supervised process ended. `reason` is final for everything but `ok`/`exit N`,
    which a backend refines with what the agent itself reported."""

    reason: str
    exit_code: int | None = None
    duration: float = 0.0
    started: bool = True
    timed_out: bool = False
    cancelled: bool = False
    stalls: int = 0
    stderr_tail: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.reason == "ok"

    @property
    def exited(self) -> bool:
        """It ran and exited by itself (with any code), not killed by us or a signal."""
        return (
            self.started and self.exit_code is not None and not (self.timed_out or self.cancelled)
        )


def merged_env(*layers: Mapping[str, str]) -> dict[str, str]:
    """os.environ, then each layer on top (profile env, then the job's env)."""
    env = dict(os.environ)
    for layer in layers:
        env.update({str(k): str(v) for k, v in layer.items()})
    return env


def find_executable(name: str, env: Mapping[str, str], cwd: Path) -> str | None:
    """The program `name` would run: a path (relative to cwd) or a lookup on env's PATH."""
    if os.sep in name:
        path = Path(name) if Path(name).is_absolute() else cwd / name
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(name, path=env.get("PATH", os.defpath))


def describe_argv(argv: Sequence[str], limit: int = 300) -> str:
    """The argv as a shell would read it, shortened for logs (prompts can be long)."""
    flat = [a.replace("\r", "\\r").replace("\n", "\\n") for a in argv]
    shown = [a if len(a) <= 80 else a[:60] + f"…(+{len(a) - 60} chars)" for a in flat]
    text = shlex.join(shown)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_display(line: str) -> str:
    if len(line) <= DISPLAY_CHARS:
        return line
    return line[:DISPLAY_CHARS] + f"… [{len(line) - DISPLAY_CHARS:,} more characters]"


def plain_lines(text: str, stream: Stream) -> Sequence[str]:
    """The line handler of plain-text agents: every line is shown as it is."""
    return [text] if text.strip() else []


def write_marker(spec: ProcessSpec, log: IO[bytes] | None, text: str) -> None:
    data = (text + "\n").encode("utf-8", "replace")
    if spec.redact:
        data = redact_secrets(data)
    if log is not None:
        log.write(data)
        log.flush()
        return
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    with spec.log_path.open("ab") as file:
        file.write(data)


def header(spec: ProcessSpec, text: str) -> str:
    label = f" {spec.label}" if spec.label else ""
    return f"=== {time.strftime('%Y-%m-%d %H:%M:%S')}{label} {text}"


def cannot_start(spec: ProcessSpec) -> str:
    if not spec.argv:
        return "nothing to run: the command is empty"
    if not spec.cwd.is_dir():
        return f"working directory {spec.cwd} does not exist"
    if find_executable(spec.argv[0], spec.env, spec.cwd) is None:
        return f"executable not found: {spec.argv[0]}"
    return ""


def start_process(
    spec: ProcessSpec,
    on_line: LineHandler,
    events: AgentEvents,
    cancel: threading.Event,
    on_exit: ExitHandler | None = None,
) -> Watch:
    """Start `spec` under the shared supervisor; never raises for a process that fails or
    cannot start (its outcome says why). See the module docstring for the threads."""
    from .watch import Watch

    started = time.monotonic()
    problem = cannot_start(spec)
    if problem:
        write_marker(spec, None, header(spec, f"not started: {problem}"))
        return Watch.not_started(spec, events, problem, on_exit, announce=True)
    spec.log_path.parent.mkdir(parents=True, exist_ok=True)
    log = spec.log_path.open("ab")
    write_marker(spec, log, header(spec, f"$ {describe_argv(spec.argv)}  (in {spec.cwd})"))
    process, problem = popen(spec, events)
    if process is None:
        write_marker(spec, log, f"=== {problem} after 0.0 s")
        log.close()
        return Watch.not_started(spec, events, problem, on_exit, announce=True)
    watch = Watch(spec, on_line, events, cancel, on_exit, process, log, started)
    supervisor.shared().add(watch)
    return watch


def popen(spec: ProcessSpec, events: AgentEvents) -> tuple[subprocess.Popen[bytes] | None, str]:
    try:
        stdin: IO[bytes] | int = (
            spec.stdin_path.open("rb")
            if spec.stdin_path
            else subprocess.PIPE
            if spec.stdin_pipe
            else subprocess.DEVNULL
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
    try:
        process = subprocess.Popen(
            list(spec.argv),
            cwd=spec.cwd,
            env=env,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        return None, f"could not start {spec.argv[0]}: {exc.strerror or exc}"
    finally:
        if not isinstance(stdin, int):
            stdin.close()
    if spec.pidfile is not None:
        procgroup.write_pidfile(spec.pidfile, process.pid, token)
    return process, ""


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


def outcome_reason(code: int | None, timed_out: bool, cancelled: bool, timeout: float) -> str:
    if timed_out:
        return f"timeout after {timeout:g} s"
    if cancelled:
        return "cancelled"
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return "ok" if code == 0 else f"exit {code}"


def close_quietly(pipe: IO[bytes] | None) -> None:
    if pipe is not None:
        with contextlib.suppress(OSError):
            pipe.close()
