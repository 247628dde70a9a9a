"""Running a stage's tool (bandit, ruff, pytest, a configured command) as a subprocess.

A tool run never raises: a missing executable, a timeout, a cancel or a crash comes back
as a ToolRun whose `problem` says so in one line. Each tool runs in its own process group,
killed whole on timeout or cancel, so a hanging test suite leaves no orphans behind. The
group dies with the orchestrator too, even by SIGKILL: it is guarded by the process's
lifeline (infra/procgroup.py), and its pidfile (named `.orchestrator/tools/<name>.pid`,
kept in memory: procgroup.runtime_dir) lets the next run of the same tool — the resumed
stage — kill what an earlier process left.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..engine.pipeline import Cancelled
from ..infra import procgroup

MAX_OUTPUT_CHARS = 20_000_000
POLL_SECONDS = 0.1


@dataclass(frozen=True)
class ToolRun:
    """How one tool invocation went; `output` is stdout, `errors` is stderr."""

    name: str
    argv: tuple[str, ...]
    exit_code: int | None = None
    output: str = ""
    errors: str = ""
    duration: float = 0.0
    timed_out: bool = False
    cancelled: bool = False
    missing: str = ""

    @property
    def started(self) -> bool:
        return not self.missing

    @property
    def finished(self) -> bool:
        """It ran to its own end (any exit code)."""
        return self.started and not self.timed_out and not self.cancelled

    @property
    def ok(self) -> bool:
        return self.finished and self.exit_code == 0

    def tail(self, lines: int = 15) -> str:
        """The last lines of its output (stderr after stdout), for a gate's details."""
        text = "\n".join(part for part in (self.output.rstrip(), self.errors.rstrip()) if part)
        return "\n".join(text.splitlines()[-lines:])

    @property
    def problem(self) -> str:
        """One line on why it did not do its job, or '' when it exited 0."""
        if self.missing:
            return self.missing
        if self.timed_out:
            return f"{self.name} timed out after {self.duration:.0f} s and was stopped"
        if self.cancelled:
            return f"{self.name} was cancelled"
        if self.exit_code == 0:
            return ""
        last = (self.errors.strip() or self.output.strip()).splitlines()[-1:] or [""]
        how = (
            f"killed by signal {-self.exit_code}"
            if (self.exit_code or 0) < 0
            else (f"exited {self.exit_code}")
        )
        return f"{self.name} {how}" + (f": {last[0][:200]}" if last[0] else "")


def python_module_argv(module: str, python: str | None = None) -> list[str] | None:
    """`python -m module` when the module is importable here, else None."""
    if importlib.util.find_spec(module) is None:
        return None
    return [python or sys.executable, "-m", module]


def tool_argv(module: str, executable: str) -> list[str] | None:
    """A tool installed with this package (as a module), else its executable on PATH."""
    argv = python_module_argv(module)
    if argv is not None:
        return argv
    found = shutil.which(executable)
    return [found] if found else None


def run_tool(
    name: str,
    argv: Sequence[str],
    cwd: Path,
    timeout: float,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
) -> ToolRun:
    """Run `argv` in `cwd` with stdin closed; stop it after `timeout` s. When `cancel` is
    set (the engine is stopping) the tool is killed and Cancelled raised, so that the stage
    is left running in the log and runs again when the run resumes."""
    argv = tuple(str(a) for a in argv)
    if not argv:
        return ToolRun(name, argv, missing=f"{name}: empty command")
    pidfile = tool_pidfile(cwd, name)
    if pidfile is not None:
        procgroup.kill_leftovers(pidfile)  # the same tool, left by a killed orchestrator
    token = procgroup.new_token()
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {}), procgroup.TOKEN_VARIABLE: token},
            start_new_session=True,
        )
    except FileNotFoundError:
        return ToolRun(name, argv, missing=f"{name}: {argv[0]} not found")
    except PermissionError:
        return ToolRun(name, argv, missing=f"{name}: {argv[0]} is not executable")
    except OSError as exc:
        return ToolRun(name, argv, missing=f"{name}: cannot start {argv[0]}: {exc}")
    if pidfile is not None:
        with contextlib.suppress(OSError):
            procgroup.write_pidfile(pidfile, process.pid, token)
    else:
        procgroup.LIFELINE.guard(process.pid, token)
    try:
        return wait_tool(name, argv, process, started, timeout, cancel)
    finally:
        if pidfile is not None:
            procgroup.remove_pidfile(pidfile)
        else:
            procgroup.LIFELINE.release(process.pid)


def tool_pidfile(cwd: Path, name: str) -> Path | None:
    """`<workspace>/.orchestrator/tools/<name>.pid` for a tool run in the workspace or in one
    of its worktrees (never inside a checkout: that would be a stray file); else None."""
    parts = Path(cwd).absolute().parts
    if ".orchestrator" in parts:
        root = Path(*parts[: parts.index(".orchestrator") + 1])
    elif (Path(cwd) / ".orchestrator").is_dir():
        root = Path(cwd) / ".orchestrator"
    else:
        return None
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "tool"
    return root / "tools" / f"{safe}.pid"


def wait_tool(
    name: str,
    argv: tuple[str, ...],
    process: subprocess.Popen[bytes],
    started: float,
    timeout: float,
    cancel: threading.Event | None,
) -> ToolRun:
    timed_out = cancelled = False
    while True:
        try:
            out, err = process.communicate(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() - started > timeout:
                timed_out = True
            elif cancel is not None and cancel.is_set():
                cancelled = True
            else:
                continue
            kill_group(process)
            out, err = drain(process)
            break
    if cancelled:
        raise Cancelled  # the engine is stopping: the stage runs again on resume
    return ToolRun(
        name,
        argv,
        exit_code=process.returncode,
        output=decode(out),
        errors=decode(err),
        duration=time.monotonic() - started,
        timed_out=timed_out,
        cancelled=cancelled,
    )


def kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def drain(process: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """What a killed tool printed; a grandchild that escaped its group cannot hold us."""
    try:
        return process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
        process.wait(timeout=5)
        return b"", b""


def decode(data: bytes | None) -> str:
    text = (data or b"").decode("utf-8", errors="replace")
    if len(text) > MAX_OUTPUT_CHARS:
        return text[:MAX_OUTPUT_CHARS] + "\n[output truncated]"
    return text
