"""The engine: the nine-stage state machine, its gates, the inbox, live reloads.

One Engine runs in one thread. It reports only through `emit` (to the event log first,
then to live views) and takes commands only from the inbox, so the app, the monitor and
the CLI all steer it the same way.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..core import events as ev
from ..core.config import Config
from ..core.models import STAGES, Plan, StageName, StageStatus, Task
from ..core.plan import PlanError, parse_plan
from ..core.protocols import (
    AgentResult,
    BackendFactory,
    StageContext,
    StageResult,
    StageRunner,
    TaskIsolation,
)
from ..core.redact import mask_event
from ..core.state import RunState, apply
from ..core.system import load_system
from ..infra.fsutil import DiskError, atomic_write
from ..infra.notify import Notifier
from ..infra.session import BadCommand, Command, Inbox, WorkspaceLock, command_summary, submit
from ..infra.store import RunFiles, RunStore, latest_run_id, load_run, new_run_id
from ..infra.watcher import PlanWatcher
from .commands import handle_command
from .output import OutputBatcher
from .parallel import parallel_stage
from .reload import apply_reloads

if TYPE_CHECKING:
    from .implement import Implementer

ENGINE_STAGES = (StageName.PARALLEL, StageName.IMPLEMENT)


class Cancelled(Exception):
    """The user cancelled the run, or asked the engine to stop (resumable)."""


@dataclass(frozen=True)
class EngineOptions:
    workspace: Path
    config: Config
    approve: frozenset[StageName] = frozenset()
    goal: str = ""
    resume: bool = True
    run_id: str = ""
    watch: bool = True
    poll_interval: float = 0.05
    heartbeat: float = 2.0
    concurrency: int = 0
    system_path: Path | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def plan_path(self) -> Path:
        return self.workspace / self.config.run.plan


IsolationFactory = Callable[[Path, str, Config], TaskIsolation]


class Engine:
    """Drives one run of the pipeline. Construct, `open()`, then `run()` in one thread."""

    def __init__(
        self,
        options: EngineOptions,
        runners: Mapping[StageName, StageRunner],
        backends: BackendFactory,
        isolation: IsolationFactory,
        sinks: Sequence[ev.EventSink] = (),
    ) -> None:
        self.options = options
        self.config = options.config
        self.runners = dict(runners)
        self.backends = backends
        self.isolation_factory = isolation
        self.sinks = list(sinks)
        self.state = RunState()
        self.emit_lock = threading.RLock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.cancelled = False
        self.reloads: queue.Queue[str] = queue.Queue()
        self.plan: Plan | None = None
        self.system = load_system(self.system_path)
        self.implementer: Implementer | None = None
        self.lock: WorkspaceLock | None = None
        self.store: RunStore | None = None
        self.files: RunFiles | None = None
        self.inbox = Inbox(options.workspace)
        self.watcher: PlanWatcher | None = None
        self.batcher = OutputBatcher(self.emit)
        self.notifier = Notifier(
            options.workspace, options.config.notify, lambda text: self.notice("warning", text)
        )

    @property
    def system_path(self) -> Path:
        return self.options.system_path or self.options.workspace / "CLAUDE.md"

    @property
    def concurrency(self) -> int:
        return self.options.concurrency or self.config.run.concurrency

    # ---- other threads ----------------------------------------------------------------

    def submit(self, action: str, task: str = "", feedback: str = "", by: str = "app") -> Command:
        """Queue a command as any process would (through the inbox) and wake the engine."""
        command = submit(self.options.workspace, action, task, feedback, by)  # type: ignore[arg-type]
        self.wake.set()
        return command

    def stop(self) -> None:
        """Stop soon, leaving the run to be resumed; running agents are stopped."""
        self.stopping.set()
        self.wake.set()

    # ---- opening ----------------------------------------------------------------------

    def open(self) -> str:
        """Take the workspace lock and open (resume or create) the run. Raises LockHeld."""
        workspace = self.options.workspace
        run_id = self.options.run_id or (latest_run_id(workspace) if self.options.resume else None)
        warnings: list[str] = []
        if run_id:
            state, warnings = load_run(RunFiles(workspace, run_id))
            if state.finished and not self.options.run_id:
                run_id, state = None, RunState()
        if not run_id:
            run_id, state = new_run_id(), RunState()
        self.lock = WorkspaceLock(workspace, run_id, self.options.heartbeat)
        takeover = self.lock.acquire()
        self.files = RunFiles(workspace, run_id)
        try:
            self.store = RunStore(self.files, state)
        except OSError:
            self.lock.release()
            raise
        self.state = state
        resumed = bool(state.run_id)
        self.emit(
            ev.RunStarted(
                run_id=run_id,
                workspace=str(workspace),
                goal=self.options.goal or state.goal,
                resumed=resumed,
                pid=os.getpid(),
            )
        )
        for text in [*(warnings or []), *([takeover] if takeover else [])]:
            self.emit(ev.Notice(level="warning", text=text))
        for problem in self.system.problems:
            self.emit(ev.Notice(level="warning", text=problem))
        if resumed:
            self.plan = self.load_frozen_plan()
        return run_id

    def load_frozen_plan(self) -> Plan | None:
        assert self.files is not None
        try:
            return Plan.model_validate_json(self.files.frozen_plan.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def save_frozen_plan(self, plan: Plan) -> None:
        assert self.files is not None
        atomic_write(self.files.frozen_plan, plan.model_dump_json())

    # ---- events -----------------------------------------------------------------------

    def emit(self, event: ev.EventBase) -> None:
        """Stamp, fold into our state, persist, then tell every live view."""
        event = mask_event(event)
        with self.emit_lock:
            seq = self.state.last_seq + 1 if event.persisted else self.state.last_seq
            event = event.model_copy(update={"seq": seq, "at": time.time()})
            if event.persisted:  # so that replaying the log gives exactly this state
                self.state = apply(self.state, event)
                if self.store is not None:
                    self.store.record(event, self.state)
            for sink in self.sinks:
                sink.emit(event)

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Events emitted inside share one fsync (group commit for a loop turn)."""
        if self.store is None:
            return contextlib.nullcontext()
        return self.store.batch()

    def notice(self, level: str, text: str) -> None:
        self.emit(ev.Notice(level=level, text=text))  # type: ignore[arg-type]

    # ---- the run ----------------------------------------------------------------------

    def run(self) -> str:
        """Run the pipeline to its end (or a stop); returns the outcome ('' when stopped)."""
        if self.store is None:
            self.open()
        self.batcher.start()
        if self.options.watch:
            self.watcher = PlanWatcher(
                [self.options.plan_path, self.system_path], self.on_file_change
            )
            self.watcher.start()
        outcome = ""
        try:
            if self.state.finished:
                return self.state.outcome
            self.run_stages()
            outcome = "complete"
            self.emit(ev.RunFinished(outcome="complete", reason="all stages passed"))
        except Cancelled:
            if self.cancelled:
                outcome = "cancelled"
                self.emit(ev.RunFinished(outcome="cancelled", reason="cancelled by the user"))
        except DiskError as exc:
            outcome = "failed"
            self.tell_views(ev.Notice(level="error", text=f"{exc.strerror}; the run stopped"))
        finally:
            self.close()
        return outcome

    def tell_views(self, event: ev.EventBase) -> None:
        """Reach live views when the log itself cannot be written."""
        for sink in self.sinks:
            sink.emit(event)

    def close(self) -> None:
        self.batcher.stop()
        if self.watcher:
            self.watcher.stop()
        if self.store is not None:
            try:
                self.store.close()
            except OSError as exc:
                self.tell_views(ev.Notice(level="error", text=f"could not save state: {exc}"))
        if self.lock:
            self.lock.release()

    def run_stages(self) -> None:
        for stage in STAGES:
            while True:
                status = self.state.stages[stage].status
                if status in (StageStatus.APPROVED, StageStatus.SKIPPED):
                    break
                if status in (StageStatus.PENDING, StageStatus.RUNNING, StageStatus.REJECTED):
                    self.wait_while_paused()
                    self.execute(stage)
                decision = self.gate(stage)
                if decision in ("approve", "skip"):
                    break

    def execute(self, stage: StageName) -> None:
        previous = self.state.stages[stage]
        feedback = previous.feedback if previous.status == StageStatus.REJECTED else ""
        builtin = stage in ENGINE_STAGES or stage in self.runners
        self.emit(
            ev.StageStarted(
                stage=stage, attempt=previous.attempt + 1, feedback=feedback, builtin=builtin
            )
        )
        passthrough = False
        try:
            if stage == StageName.PARALLEL:
                result = parallel_stage(self)
            elif stage == StageName.IMPLEMENT:
                from .implement import Implementer

                self.plan = self.plan or self.try_parse_plan()
                if self.plan is None:
                    result = StageResult(ok=False, summary="no valid plan: fix PLAN.md, retry")
                else:
                    result = Implementer(self, feedback).run()
            elif stage in self.runners:
                result = self.runners[stage].run(self.stage_context(stage, feedback))
            else:
                passthrough = True
                result = StageResult(ok=True, summary="no built-in runner: passed through")
        except (Cancelled, DiskError):
            raise
        except Exception as exc:  # a stage runner's bug must not take the run down
            result = StageResult(
                ok=False,
                summary=f"the {stage} stage crashed: {type(exc).__name__}: {exc}",
                details="```\n" + traceback.format_exc() + "```",
            )
        self.emit(
            ev.StageFinished(
                stage=stage,
                status="done" if result.ok else "failed",
                summary=result.summary,
                details=result.details,
                evidence=result.evidence,
                blockers=result.blockers,
                passthrough=passthrough,
            )
        )

    def stage_context(self, stage: StageName, feedback: str) -> StageContext:
        assert self.files is not None
        plan = self.plan
        if plan is None and stage not in (StageName.ANALYZE, StageName.PLAN):
            plan = self.try_parse_plan()
        return StageContext(
            stage=stage,
            run_id=self.files.run_id,
            workspace=self.options.workspace,
            run_dir=self.files.dir,
            config=self.config,
            attempt=self.state.stages[stage].attempt,
            feedback=feedback,
            instructions=self.system.instructions(stage),
            goal=self.state.goal,
            plan=plan,
            state=self.state,
            cancel=self.stopping,
            notice=self.notice,
            run_agent=lambda prompt, profile: self.run_stage_agent(stage, prompt, profile),
        )

    def try_parse_plan(self) -> Plan | None:
        try:
            return parse_plan(self.options.plan_path)
        except PlanError:
            return None

    def run_stage_agent(self, stage: StageName, prompt: str, profile: str) -> AgentResult:
        from .agent_job import run_single_agent

        task = Task(id=f"{stage.value}-agent", title=f"{stage.title} agent", agent=profile or None)
        return run_single_agent(self, task, prompt)

    # ---- gates ------------------------------------------------------------------------

    def gate(self, stage: StageName) -> str:
        state = self.state.stages[stage]
        if state.status != StageStatus.AWAITING_APPROVAL:
            failed = state.status == StageStatus.FAILED
            auto = stage in self.options.approve or not self.config.gates.stops_after(stage)
            if auto and not failed and not state.blockers:
                self.emit(ev.GateDecided(stage=stage, decision="approve", by="auto"))
                return "approve"
            self.emit(
                ev.GateOpened(
                    stage=stage, failed=failed, summary=state.summary, blockers=state.blockers
                )
            )
            self.notifier.waiting(stage, state.summary, failed)
        while True:
            decision = self.service()
            if decision:
                return decision
            if stage == StageName.PARALLEL and self.plan_edited_at_gate:
                self.plan_edited_at_gate = False
                self.emit(
                    ev.GateDecided(
                        stage=stage, decision="retry", feedback="PLAN.md changed", by="engine"
                    )
                )
                return "retry"
            self.idle()

    plan_edited_at_gate = False

    def idle(self) -> None:
        self.wake.wait(self.options.poll_interval)
        self.wake.clear()

    def wait_while_paused(self) -> None:
        while self.state.paused:
            self.service()
            self.idle()

    # ---- commands and reloads ---------------------------------------------------------

    def service(self) -> str | None:
        """Handle reloads and inbox commands; return a gate decision if one was made."""
        if self.stopping.is_set():
            raise Cancelled
        if self.lock and self.lock.lost.is_set():
            self.notice("error", "another orchestrator took over the workspace lock; stopping")
            raise Cancelled
        apply_reloads(self)
        decision = None
        for path, item in self.inbox.pending():
            if isinstance(item, BadCommand):
                self.emit(
                    ev.CommandApplied(
                        command_id=item.name, action="?", ok=False, message=item.reason
                    )
                )
                self.inbox.done(path, bad=True)
                continue
            if item.id not in self.state.applied_commands:
                ok, message, made = handle_command(self, item)
                self.emit(
                    ev.CommandApplied(
                        command_id=item.id, action=command_summary(item), ok=ok, message=message
                    )
                )
                decision = decision or made
            self.inbox.done(path)
            if self.cancelled:
                raise Cancelled
        return decision

    def on_file_change(self, name: str) -> None:
        """From the watcher thread: note the change and wake the engine."""
        self.reloads.put(name)
        self.wake.set()
