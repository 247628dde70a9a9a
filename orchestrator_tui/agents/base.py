"""What every CLI backend shares: a job → argv, the runner, a parser of the agent's lines.

A backend subclasses CliBackend (argv, parser) and OutputParser (line → display lines, the
process outcome → AgentResult). Reasons a run failed read the same for every backend:

- it never started: "executable not found: claude (profile 'claude': …)"
- we stopped it: "timeout after N s", "cancelled", "killed by signal N (SIGKILL)"
- the agent said so: "agent reported error: …", "permission denied: Bash (rm -rf build)",
  "max turns reached (N turns)", "no result: …"
- otherwise "exit N: <its last line on stderr>".
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.config import AgentProfile
from ..core.jsonline import json_object
from ..core.protocols import AgentEvents, AgentJob, AgentResult
from ..infra.fsutil import program_path
from .runner import ProcessOutcome, ProcessSpec, Stream, merged_env, start_process
from .watch import Watch

ERROR_WORDS = re.compile(r"error|panic|exception|fatal|traceback", re.IGNORECASE)
# Linux refuses a single argument longer than 128 KiB; longer prompts go through stdin.
MAX_PROMPT_ARG = 100_000
STDOUT_TAIL_LINES = 200


class JobError(ValueError):
    """The job cannot be turned into a command (e.g. a shell task without `run:`)."""


def clip(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def relative_path(path: str, workdir: Path) -> str:
    """`path` relative to the agent's working directory when it lies inside it."""
    try:
        return Path(path).relative_to(workdir).as_posix()
    except ValueError:
        try:
            return Path(path).resolve().relative_to(workdir.resolve()).as_posix()
        except (ValueError, OSError):
            return path


def exit_reason(outcome: ProcessOutcome) -> str:
    """ "exit N", with the agent's last words on stderr when it left some."""
    tail = [line for line in outcome.stderr_tail if line.strip()]
    # the line that names the error, else the head of the last message (not its stack)
    tail = (
        [line for line in tail if ERROR_WORDS.search(line)]
        or [line for line in tail if not line[:1].isspace()]
        or tail
    )
    if tail:
        return f"{outcome.reason}: {clip(tail[-1], 200)}"
    return outcome.reason


class OutputParser:
    """Reads one agent's output (from the runner's reader threads, one line at a time)."""

    def __init__(self, job: AgentJob, events: AgentEvents) -> None:
        self.job = job
        self.events = events
        self.session_id = ""
        self.final_text = ""
        self.files: list[str] = []
        self.errors: list[str] = []
        self.denials: list[str] = []
        self.stdout_tail: deque[str] = deque(maxlen=STDOUT_TAIL_LINES)

    def line(self, text: str, stream: Stream) -> Sequence[str]:
        if stream == "stderr":
            return [f"[stderr] {text}"] if text.strip() else []
        self.stdout_tail.append(text)
        return [text] if text.strip() else []

    @staticmethod
    def json_event(text: str) -> dict[str, Any] | None:
        """A JSON-lines event (an object with a string `type`), or None for any other line."""
        data = json_object(text)
        return data if data is not None and isinstance(data.get("type"), str) else None

    def finish(self) -> None:
        """Called once the process ended, before `result` (flush partial state)."""

    def outcome_failure(self, outcome: ProcessOutcome) -> str:
        """A reason when the process did not run to its own end, else ""."""
        if not outcome.started or outcome.timed_out or outcome.cancelled:
            return outcome.reason
        if outcome.exit_code is None:  # killed by a signal we did not send
            return outcome.reason
        return ""

    def verdict(self, outcome: ProcessOutcome) -> str:
        """The reason the run failed by what the agent printed ("" when it succeeded)."""
        if self.errors:
            return f"agent reported error: {clip(self.errors[-1])}"
        if self.denials:
            return "permission denied: " + ", ".join(dict.fromkeys(self.denials))
        if outcome.exit_code:
            return exit_reason(outcome)
        return ""

    def result(self, outcome: ProcessOutcome) -> AgentResult:
        self.finish()
        if not self.final_text and self.stdout_tail:
            # a plain-text backend (command, shell): its final text is the end of its stdout,
            # so that a stage reads its verdict or report as from any other backend
            self.final_text = "\n".join(self.stdout_tail).strip()
        reason = self.outcome_failure(outcome) or self.verdict(outcome)
        return AgentResult(
            ok=not reason,
            reason=reason or "ok",
            exit_code=outcome.exit_code,
            session_id=self.session_id,
            final_text=self.final_text,
            files=tuple(dict.fromkeys(self.files)),
        )

    def add_file(self, path: str) -> None:
        if path:
            self.files.append(relative_path(path, self.job.workdir))


class CliBackend:
    """Runs one agent CLI under the runner; subclasses say how to call it and read it."""

    default_executable = ""

    def __init__(self, profile_name: str, profile: AgentProfile) -> None:
        self.profile_name = profile_name
        self.profile = profile

    @property
    def executable(self) -> str:
        return self.profile.executable or self.default_executable

    def argv(self, job: AgentJob) -> list[str]:
        raise NotImplementedError

    def parser(self, job: AgentJob, events: AgentEvents) -> OutputParser:
        return OutputParser(job, events)

    def stdin_path(self, job: AgentJob) -> Path | None:
        """A file to feed on stdin (default: none, stdin is /dev/null)."""
        return None

    def env(self, job: AgentJob) -> dict[str, str]:
        """The environment: ours, the profile's, the job's, and where the task's files are."""
        info = {
            "ORCH_RUN_ID": job.run_id,
            "ORCH_TASK_ID": job.task.id,
            "ORCH_PROMPT_FILE": os.fspath(job.prompt_file),
            "ORCH_WORKDIR": os.fspath(job.workdir),
        }
        return merged_env(info, self.profile.env, job.env)

    def spec(self, job: AgentJob) -> ProcessSpec:
        program, *args = self.argv(job)
        roots = (job.workdir, job.workspace) if job.workspace else (job.workdir,)
        return ProcessSpec(
            argv=[program_path(program, *roots), *args],  # a worktree has no untracked venv
            cwd=job.workdir,
            log_path=job.log_path,
            env=self.env(job),
            timeout=job.timeout,
            stall_after=job.stall_after,
            label=f"{job.task.id} attempt {job.attempt} ({self.profile_name})",
            stdin_path=self.stdin_path(job),
            redact=job.redact,
            pidfile=job.log_path.with_suffix(".pid"),
            files=((job.prompt_file, job.prompt),),
        )

    def start(
        self,
        job: AgentJob,
        events: AgentEvents,
        cancel: threading.Event,
        done: Callable[[AgentResult], None],
    ) -> Watch | None:
        """Start the agent and return at once; `done(result)` is called once, on the
        supervisor's loop (or on this thread when it could not start). No thread waits."""
        try:
            spec = self.spec(job)
        except JobError as exc:  # the same job would fail the same way: no retry
            events.output([f"[orchestrator] {exc}"])
            done(AgentResult(ok=False, reason=str(exc), exit_code=None, retryable=False))
            return None
        parser = self.parser(job, events)

        def exited(outcome: ProcessOutcome) -> None:
            done(self.result(parser, outcome))

        watch = start_process(spec, parser.line, events, cancel, exited)
        self.started(watch, parser)
        return watch

    def started(self, watch: Watch, parser: OutputParser) -> None:
        """The process is on its way (claude: its stdin and the permission queue)."""

    def result(self, parser: OutputParser, outcome: ProcessOutcome) -> AgentResult:
        try:
            result = parser.result(outcome)
        except Exception as exc:  # a parser bug becomes the task's failure reason
            return AgentResult(ok=False, reason=f"backend crashed: {type(exc).__name__}: {exc}")
        if not outcome.started and "not found" in result.reason and self.default_executable:
            hint = f"set agents.{self.profile_name}.executable in .orchestrator/config.toml"
            result = AgentResult(ok=False, reason=f"{result.reason} ({hint})", exit_code=None)
        if not outcome.retryable:
            result = dataclasses.replace(result, retryable=False)
        return result

    def run(self, job: AgentJob, events: AgentEvents, cancel: threading.Event) -> AgentResult:
        """start + wait: for callers that block (stage runners, tests)."""
        results: list[AgentResult] = []
        finished = threading.Event()

        def done(result: AgentResult) -> None:
            results.append(result)
            finished.set()

        self.start(job, events, cancel, done)
        finished.wait()
        return results[0]


def prompt_too_long(prompt: str) -> bool:
    return len(prompt.encode("utf-8")) > MAX_PROMPT_ARG
