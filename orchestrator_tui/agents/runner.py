"""Supervised subprocesses: how every CLI backend starts, watches and stops its agent.

`run_process` starts an argv list (never a shell string) in its own process group, with its
own working directory and environment, and reads stdout and stderr line by line as bytes:

- every line goes to the task's log file in full (a line is streamed to the file in pieces,
  so a 50 MB line costs no more memory than a short one);
- the line, decoded as UTF-8 with replacement and capped at MAX_LINE_BYTES, goes to the
  backend's `on_line`, whose display lines reach `events.output` in batches;
- the time of the last output is the heartbeat: silence for `stall_after` seconds gives one
  warning (`events.notice`) per silence, `timeout` seconds in all kill the agent;
- the `cancel` event kills it too. Killing means the whole process group: SIGTERM, then
  SIGKILL after a grace period (procgroup.py), grandchildren included. When the agent exits
  on its own, whatever it left running in its group is killed the same way, so a background
  process that outlives its parent cannot keep the pipes (or the machine) busy.

With a `pidfile`, the group id and a token (also put in the agent's environment) are kept
there while the agent runs; the next start with the same pidfile first kills a group left
from an orchestrator that died without cleaning up (SIGKILL), if its processes carry the
token. With `redact` (the config's run.redact, on by default) strings that look like API keys are
masked before they reach the log or the events (a key split across a 64 KiB read of an
even longer line can slip through).

The outcome says why it ended: ok, exit N, timeout, cancelled, killed by signal N, or why it
never started. Retries are the engine's business (core/implement.py), not the runner's.
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
from typing import IO, Literal

from ..core.protocols import AgentEvents
from . import procgroup
from .procgroup import ProcessGroup
from .redact import SecretMasker, redact_secrets

Stream = Literal["stdout", "stderr"]
LineHandler = Callable[[str, Stream], Sequence[str]]

MAX_LINE_BYTES = 1024 * 1024
DISPLAY_CHARS = 2000
READ_CHUNK = 64 * 1024
FLUSH_SECONDS = 0.05
FLUSH_LINES = 200
PIPE_DRAIN_SECONDS = 2.0


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


def decode_line(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


def clip_display(line: str) -> str:
    if len(line) <= DISPLAY_CHARS:
        return line
    return line[:DISPLAY_CHARS] + f"… [{len(line) - DISPLAY_CHARS:,} more characters]"


class OutputPump:
    """Reads one pipe line by line, logs every byte, hands capped lines to the handler."""

    def __init__(self, supervisor: Supervisor, pipe: IO[bytes], stream: Stream) -> None:
        self.supervisor = supervisor
        self.pipe = pipe
        self.stream = stream
        self.thread = threading.Thread(target=self.pump, name=f"agent-{stream}", daemon=True)
        self.masker = SecretMasker() if supervisor.spec.redact else None

    def pump(self) -> None:
        head = bytearray()
        dropped = 0
        try:
            while True:
                chunk = self.pipe.readline(READ_CHUNK)
                if not chunk:
                    break
                if self.masker is not None:
                    chunk = self.masker.line(chunk)
                    if not chunk:
                        continue  # inside a private key block
                self.supervisor.log_bytes(chunk)
                complete = chunk.endswith(b"\n")
                body = chunk[:-1] if complete else chunk
                room = max(0, MAX_LINE_BYTES - len(head))
                head += body[:room]
                dropped += max(0, len(body) - room)
                if complete:
                    self.deliver(bytes(head), dropped)
                    head.clear()
                    dropped = 0
            if head or dropped:
                self.supervisor.log_bytes(b"\n")
                self.deliver(bytes(head), dropped)
        except (OSError, ValueError):
            return  # the pipe was closed under us after the process group died
        finally:
            with contextlib.suppress(OSError):
                self.pipe.close()

    def deliver(self, raw: bytes, dropped: int) -> None:
        line = decode_line(raw)
        if dropped:
            line += f" … [line cut: {dropped:,} more bytes in the log]"
        self.supervisor.line(line, self.stream)


class Supervisor:
    """Runs one process to its end; see the module docstring."""

    def __init__(
        self,
        spec: ProcessSpec,
        on_line: LineHandler,
        events: AgentEvents,
        cancel: threading.Event,
    ) -> None:
        self.spec = spec
        self.on_line = on_line
        self.events = events
        self.cancel = cancel
        self.lock = threading.Lock()
        self.pending: list[str] = []
        self.last_output = time.monotonic()
        self.stderr_tail: list[str] = []
        self.log: IO[bytes] | None = None

    # ---- called from the pump threads ---------------------------------------------

    def log_bytes(self, data: bytes) -> None:
        with self.lock:
            self.last_output = time.monotonic()
            if self.log is not None:
                self.log.write(data)

    def line(self, text: str, stream: Stream) -> None:
        with self.lock:
            if stream == "stderr" and text.strip():
                self.stderr_tail = [*self.stderr_tail[-9:], text[:500]]
            try:
                shown = self.on_line(text, stream)
            except Exception as exc:  # a parser bug must not lose the output
                shown = [text, f"[orchestrator] could not parse that line: {exc}"]
            self.pending.extend(clip_display(s) for s in shown)
            flush_now = len(self.pending) >= FLUSH_LINES
        if flush_now:
            self.flush()

    # ---- the supervising thread -----------------------------------------------------

    def flush(self) -> None:
        with self.lock:
            lines, self.pending = self.pending, []
            if self.log is not None:
                self.log.flush()
        if lines:
            self.events.output(lines)

    def run(self) -> ProcessOutcome:
        spec = self.spec
        problem = self.cannot_start()
        if problem:
            self.write_header(f"not started: {problem}")
            self.events.output([f"[orchestrator] {problem}"])
            return ProcessOutcome(reason=problem, exit_code=None, started=False)
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with spec.log_path.open("ab") as log:
            self.log = log
            try:
                self.write_header(f"$ {describe_argv(spec.argv)}  (in {spec.cwd})")
                outcome = self.start_and_supervise()
                self.write_footer(f"{outcome.reason} after {outcome.duration:.1f} s")
            finally:
                self.log = None
        if not outcome.started:
            self.events.output([f"[orchestrator] {outcome.reason}"])
        return outcome

    def start_and_supervise(self) -> ProcessOutcome:
        spec = self.spec
        started = time.monotonic()
        try:
            stdin: IO[bytes] | int = (
                spec.stdin_path.open("rb") if spec.stdin_path else subprocess.DEVNULL
            )
        except OSError as exc:
            reason = f"could not read {spec.stdin_path}: {exc.strerror or exc}"
            return ProcessOutcome(reason=reason, exit_code=None, started=False)
        env = dict(spec.env)
        token = procgroup.new_token()
        if spec.pidfile is not None:
            leftovers = procgroup.kill_leftovers(spec.pidfile)
            if leftovers:
                self.events.notice(
                    "warning", f"killed {leftovers} process(es) left from an earlier attempt"
                )
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
            reason = f"could not start {spec.argv[0]}: {exc.strerror or exc}"
            return ProcessOutcome(reason=reason, exit_code=None, started=False)
        finally:
            if not isinstance(stdin, int):
                stdin.close()
        if spec.pidfile is not None:
            procgroup.write_pidfile(spec.pidfile, process.pid, token)
        try:
            return self.supervise(process, started)
        finally:
            if spec.pidfile is not None:
                with contextlib.suppress(OSError):
                    spec.pidfile.unlink()

    def cannot_start(self) -> str:
        spec = self.spec
        if not spec.argv:
            return "nothing to run: the command is empty"
        if not spec.cwd.is_dir():
            return f"working directory {spec.cwd} does not exist"
        if find_executable(spec.argv[0], spec.env, spec.cwd) is None:
            return f"executable not found: {spec.argv[0]}"
        return ""

    def supervise(self, process: subprocess.Popen[bytes], started: float) -> ProcessOutcome:
        group = ProcessGroup(process)
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            OutputPump(self, process.stdout, "stdout"),
            OutputPump(self, process.stderr, "stderr"),
        ]
        for pump in pumps:
            pump.thread.start()
        timed_out = cancelled = False
        stalls = 0
        warned_at = 0.0
        while True:
            # Wait on the process itself, so that a quick agent is not held for a poll tick.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=FLUSH_SECONDS)
            if process.returncode is not None:
                break
            if self.cancel.is_set():
                cancelled = True
                break
            self.flush()
            now = time.monotonic()
            if now - started > self.spec.timeout:
                timed_out = True
                break
            silent_for = now - self.last_output
            if silent_for > self.spec.stall_after and self.last_output != warned_at:
                warned_at = self.last_output
                stalls += 1
                self.events.notice(
                    "warning", f"no output for {silent_for:.0f} s: the agent may be stalled"
                )
        # Leftovers of an agent that exited by itself die too: no orphans.
        group.kill()
        group.reap(timeout=procgroup.KILL_GRACE)
        deadline = time.monotonic() + PIPE_DRAIN_SECONDS
        for pump in pumps:
            pump.thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self.flush()
        duration = time.monotonic() - started
        code = process.returncode
        if timed_out:
            reason = f"timeout after {self.spec.timeout:g} s"
        elif cancelled:
            reason = "cancelled"
        elif code is None:
            reason = "did not exit"
        elif code < 0:
            reason = f"killed by signal {-code} ({signal.Signals(-code).name})"
        elif code == 0:
            reason = "ok"
        else:
            reason = f"exit {code}"
        return ProcessOutcome(
            reason=reason,
            exit_code=code if code is not None and code >= 0 else None,
            duration=duration,
            timed_out=timed_out,
            cancelled=cancelled,
            stalls=stalls,
            stderr_tail=tuple(self.stderr_tail),
        )

    def write_header(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        label = f" {self.spec.label}" if self.spec.label else ""
        self.write_marker(f"=== {stamp}{label} {text}")

    def write_footer(self, text: str) -> None:
        self.write_marker(f"=== {text}")

    def write_marker(self, text: str) -> None:
        data = (text + "\n").encode("utf-8", "replace")
        if self.spec.redact:
            data = redact_secrets(data)
        if self.log is not None:
            self.log.write(data)
            self.log.flush()
            return
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.spec.log_path.open("ab") as log:
            log.write(data)


def run_process(
    spec: ProcessSpec,
    on_line: LineHandler,
    events: AgentEvents,
    cancel: threading.Event,
) -> ProcessOutcome:
    """Run `spec` under supervision (blocking); `on_line(text, stream)` returns the lines to
    show for each output line. Never raises for a process that fails or cannot start."""
    return Supervisor(spec, on_line, events, cancel).run()


def plain_lines(text: str, stream: Stream) -> Sequence[str]:
    """The line handler of plain-text agents: every line is shown as it is."""
    return [text] if text.strip() else []
