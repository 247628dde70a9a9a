"""What the runner is asked to run and what it says of a run: specs, outcomes, helpers.

The leaf of the agents' process code (runner.py → supervisor.py → watch.py → here)."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from .redact import redact_secrets

Stream = Literal["stdout", "stderr"]
LineHandler = Callable[[str, Stream], Sequence[str]]
ExitHandler = Callable[["ProcessOutcome"], None]
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
    files: tuple[tuple[Path, str], ...] = ()  # written just before the start (the prompt)


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
    retryable: bool = True  # False: it could not start and never will (program missing)

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
    env = environment()
    for layer in layers:
        env.update({str(k): str(v) for k, v in layer.items()})
    return env


_ENVIRON: tuple[dict[bytes, bytes], dict[str, str]] = ({}, {})  # os.environ, raw and read


def environment() -> dict[str, str]:
    """A copy of os.environ. Reading it decodes every variable (~50 µs); when its raw
    bytes are what they were last time (one comparison in C), the last reading is copied."""
    global _ENVIRON
    raw = getattr(os.environ, "_data", None)  # CPython's bytes behind os.environ
    if not isinstance(raw, dict):
        return dict(os.environ)
    known, read = _ENVIRON
    if raw != known:
        known, read = dict(raw), dict(os.environ)
        _ENVIRON = (known, read)
    return dict(read)


def find_executable(name: str, env: Mapping[str, str], cwd: Path) -> str | None:
    """The program `name` would run: a path (relative to cwd) or a lookup on env's PATH."""
    if os.sep in name:
        path = Path(name) if Path(name).is_absolute() else cwd / name
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    search = env.get("PATH", os.defpath)
    found = FOUND.get((name, search))
    if found is not None and os.access(found, os.X_OK):
        return found  # one access() instead of a walk over PATH for every agent
    found = shutil.which(name, path=search)
    if found is not None:
        FOUND[(name, search)] = found
    return found


FOUND: dict[tuple[str, str], str] = {}  # (name, PATH) -> where it was found


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


NOTHING_TO_RUN = "nothing to run"
NOT_FOUND = "executable not found"


def cannot_start(spec: ProcessSpec) -> str:
    if not spec.argv:
        return f"{NOTHING_TO_RUN}: the command is empty"
    if not spec.cwd.is_dir():
        return f"working directory {spec.cwd} does not exist"
    if find_executable(spec.argv[0], spec.env, spec.cwd) is None:
        return f"{NOT_FOUND}: {spec.argv[0]}"
    return ""


def never_startable(problem: str) -> bool:
    """A reason `cannot_start` gave that no retry can help: the program is not there (a
    missing working directory is ours to make again, so it is not one)."""
    return problem.startswith((NOTHING_TO_RUN, NOT_FOUND))


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
