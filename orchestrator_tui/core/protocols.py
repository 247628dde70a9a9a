"""The small interfaces through which the engine drives agents and built-in stages.

`core` knows these protocols only; `agents/` and `stages/` implement them, and the CLI
wires them together (orchestrator_tui.runtime).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .config import AgentProfile, Config
from .models import Plan, StageName, Task
from .state import RunState


@dataclass(frozen=True)
class AgentJob:
    """Everything a backend needs to run one agent once."""

    run_id: str
    task: Task
    profile_name: str
    profile: AgentProfile
    prompt: str
    prompt_file: Path
    workdir: Path
    log_path: Path
    attempt: int = 1
    timeout: float = 1800.0
    stall_after: float = 120.0
    env: Mapping[str, str] = field(default_factory=dict)
    resume_session: str = ""
    redact: bool = True  # mask strings that look like API keys in the task's log and output
    workspace: Path | None = None  # the person's checkout (untracked files, e.g. a venv)


class AgentEvents(Protocol):
    """What a backend reports while its agent runs (from any thread)."""

    def output(self, lines: Sequence[str]) -> None: ...

    def usage(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None: ...

    def notice(self, level: str, text: str) -> None: ...


@dataclass(frozen=True)
class AgentResult:
    """How an agent run ended. `reason` is one of: ok, exit N, timeout, stalled, cancelled,
    killed by signal N, agent reported error: …"""

    ok: bool
    reason: str = "ok"
    exit_code: int | None = 0
    session_id: str = ""
    final_text: str = ""
    files: tuple[str, ...] = ()
    # the attempt was lost with its machine (a Ray node or worker died), not by the agent's
    # fault: the implementer runs it again without counting it against the task's retries
    requeue: bool = False
    # False: the agent cannot start as configured (its program is not installed, the
    # profile is unknown, nothing to run): another attempt would fail the same way, so the
    # task fails at once instead of being retried with backoff
    retryable: bool = True


class AgentBackend(Protocol):
    def run(self, job: AgentJob, events: AgentEvents, cancel: threading.Event) -> AgentResult: ...


BackendFactory = Callable[[str, AgentProfile], AgentBackend]


@dataclass(frozen=True)
class AgentProgram:
    """Where a profile's program is, looked up on PATH and never started (the preflight at
    the parallel gate). `program` is "" for a profile that runs none of its own (the
    simulated agent, a shell task's `run:` line); `path` is "" when it was not found."""

    program: str
    path: str = ""
    note: str = ""  # e.g. "built in", "the task's run: line"

    @property
    def missing(self) -> bool:
        return bool(self.program) and not self.path


ProgramLocator = Callable[[str, AgentProfile], AgentProgram]


@dataclass(frozen=True)
class MergeResult:
    ok: bool
    commit: str = ""
    files: tuple[str, ...] = ()
    conflict_files: tuple[str, ...] = ()
    message: str = ""


class TaskIsolation(Protocol):
    """Where a task's agent works, and how its work comes back to the run."""

    def prepare(self, task: Task, attempt: int) -> Path: ...

    def finish(self, task: Task, ended_at: float | None = None) -> MergeResult:
        """Bring the task's work back; `ended_at`, when its agent's exit was seen (monotonic
        clock; None: now), lets a look at the files taken since then serve."""
        ...

    def discard(self, task: Task) -> None: ...


class SharedWorkspace:
    """No isolation: every task works in the workspace itself; only the overlap guard
    keeps parallel tasks apart. Used when the workspace is not a git repository."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace

    def prepare(self, task: Task, attempt: int) -> Path:
        return self.workspace

    def finish(self, task: Task, ended_at: float | None = None) -> MergeResult:
        return MergeResult(ok=True, message="no isolation: work is already in the workspace")

    def discard(self, task: Task) -> None:
        return None


@dataclass(frozen=True)
class StageContext:
    """What a stage runner is given: the run, its files, and ways to report and act."""

    stage: StageName
    run_id: str
    workspace: Path
    run_dir: Path
    config: Config
    attempt: int
    feedback: str
    instructions: str
    goal: str
    plan: Plan | None
    state: RunState
    cancel: threading.Event
    notice: Callable[[str, str], None]
    run_agent: Callable[[str, str], AgentResult]


@dataclass(frozen=True)
class StageResult:
    """A stage's outcome. `details` (Markdown) is shown at the gate; `evidence` goes to the
    log and the summary; `blockers` keep an auto-approved gate from passing."""

    ok: bool
    summary: str
    details: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    blockers: tuple[str, ...] = ()


class StageRunner(Protocol):
    def run(self, ctx: StageContext) -> StageResult: ...
