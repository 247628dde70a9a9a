"""The engine: one thread that drives the nine stages over one input queue.

Everything that happens reaches the engine as an input on `inputs` (inputs.py): a command
(from the app in memory, from the inbox for other processes), a file change, an agent's
usage, notice or exit, a stage runner's result, a wake-up. Only the engine thread folds
events into `state` and appends them to the log; the rules it applies are plain functions in
core/decisions.py. Stage runners run in a worker thread so that the engine keeps answering
while bandit or pytest work; agents run under their backends and only post inputs.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..core import decisions
from ..core import events as ev
from ..core.commands import Command
from ..core.config import CONFIG_PATH
from ..core.models import STAGES, Plan, StageName, StageStatus
from ..core.protocols import (
    BackendFactory,
    ProgramLocator,
    StageRunner,
)
from ..core.redact import mask_event
from ..core.reject import SEND_BACK_STAGES, reject_hint
from ..core.state import RunState, apply
from ..core.system import load_system
from ..infra.fsutil import DiskError, atomic_write
from ..infra.notify import Notifier
from ..infra.session import Inbox, WorkspaceLock
from ..infra.store import RunFiles, RunStore, latest_run_id, load_run, new_run_id
from ..infra.watcher import PlanWatcher
from . import inputs as inp
from .asking import Desk
from .commands import apply_command, new_command, poll_inbox
from .context import Cancelled
from .fix_loop import auto_send_back, pass_unchanged, plan_reads_feedback, send_back
from .implement import Implementer
from .options import EngineOptions, GateUnanswered, IsolationFactory
from .output import OutputBuffers
from .reload import apply_reloads
from .stage_run import execute_stage
from .waiting import Driver, InputQueue

__all__ = ["Cancelled", "Engine", "EngineOptions", "GateUnanswered"]


class Engine:
    """Drives one run of the pipeline. Construct, `open()`, then `run()` in one thread."""

    def __init__(
        self,
        options: EngineOptions,
        runners: Mapping[StageName, StageRunner],
        backends: BackendFactory,
        isolation: IsolationFactory,
        sinks: Sequence[ev.EventSink] = (),
        programs: ProgramLocator | None = None,
        driver: Driver | None = None,
    ) -> None:
        self.options = options
        self.config = options.config
        self.runners = dict(runners)
        self.backends = backends
        self.programs = programs  # the preflight at the parallel gate (engine/preflight.py)
        self.isolation_factory = isolation
        self.sinks = list(sinks)
        self.state = RunState()
        self.inputs = InputQueue(driver)  # engine/waiting.py
        self.stopping = threading.Event()  # read by stage runners and agents: stop soon
        self.cancelled = False
        self.plan: Plan | None = None
        self.system = load_system(self.system_path)
        self.implementer: Implementer | None = None
        self.stage_done: inp.StageDone | None = None
        self.changed_files: set[str] = set()
        self.tasks_changed: set[str] | None = None  # since changed_tasks() (None: maybe all)
        self.plan_edited_at_gate = False
        self.lock: WorkspaceLock | None = None
        self.unanswered: GateUnanswered | None = None  # why a gate ended the run (CI mode)
        self.failure = ""  # why the engine itself failed (a bug), for the views
        self.store: RunStore | None = None
        self.files: RunFiles | None = None
        self.inbox = Inbox(options.workspace)
        self.inbox_due = 0.0
        self.watcher: PlanWatcher | None = None
        self.output = OutputBuffers()  # agents' lines for live views (engine/output.py)
        self.desk = Desk(self, options.unattended)  # the permission queue (engine/asking.py)
        self.notifier = Notifier(
            options.workspace,
            options.config.notify,
            lambda text: self.post(inp.NoticeInput("warning", text)),
        )

    @property
    def system_path(self) -> Path:
        return self.options.system_path or self.options.workspace / "CLAUDE.md"

    @property
    def concurrency(self) -> int:
        return self.options.concurrency or self.config.run.concurrency

    # ---- any thread -------------------------------------------------------------------

    def post(self, item: inp.Input) -> None:
        """The one way into the engine from another thread."""
        self.inputs.put(item)

    def submit(self, action: str, task: str = "", feedback: str = "", by: str = "app") -> Command:
        """A command from this process (the app): straight onto the queue, no file."""
        command = new_command(action, task, feedback, by)
        self.post(inp.CommandInput(command))
        return command

    def stop(self) -> None:
        """Stop soon, leaving the run to be resumed; running agents are stopped."""
        self.stopping.set()
        self.post(inp.Wake())

    def show_output(self) -> None:
        """Agents' lines for the sinks, unless a reader in this process (the app) drains
        them itself at its own pace (engine/output.py)."""
        if not self.output.claimed:
            for batch in self.output.drain():
                self.show(batch)

    def show(self, event: ev.EventBase) -> None:
        """Reach live views only (output batches are not state; nor is a notice that the
        log could not be written)."""
        for sink in self.sinks:
            sink.emit(event)

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
        goal = self.options.goal or state.goal
        self.emit(
            ev.RunStarted(
                run_id=run_id, workspace=str(workspace), goal=goal, resumed=resumed, pid=os.getpid()
            )
        )
        for text in [*(warnings or []), *([takeover] if takeover else []), *self.system.problems]:
            self.emit(ev.Notice(level="warning", text=text))
        if resumed:
            self.plan = self.load_frozen_plan()
            self.desk.resumed()
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

    # ---- events (engine thread only) --------------------------------------------------

    def emit(self, event: ev.EventBase) -> None:
        """Stamp, fold into our state, persist, then tell every live view."""
        event = mask_event(event)
        seq = self.state.last_seq + 1 if event.persisted else self.state.last_seq
        event = event.evolve({"seq": seq, "at": time.time()})
        if event.persisted:  # so that replaying the log gives exactly this state
            tasks = self.state.tasks
            self.state = apply(self.state, event)
            if self.state.tasks is not tasks and self.tasks_changed is not None:
                task = getattr(event, "task", None)  # the one it changed; else maybe several
                if isinstance(task, str):
                    self.tasks_changed.add(task)
                else:
                    self.tasks_changed = None
            if self.store is not None:
                self.store.record(event, self.state)
        self.show(event)

    def changed_tasks(self) -> set[str] | None:
        """The tasks whose state changed since the last call; None: maybe any (the first
        call, or after an event that touched the plan's tasks at large)."""
        changed, self.tasks_changed = self.tasks_changed, set()
        return changed

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Events emitted inside share one fsync (group commit for a loop turn)."""
        return self.store.batch() if self.store is not None else contextlib.nullcontext()

    def emit_all(self, events: Sequence[ev.EventBase]) -> None:
        for event in events:
            self.emit(event)

    def notice(self, level: str, text: str) -> None:
        self.emit(ev.Notice(level=level, text=text))  # type: ignore[arg-type]

    # ---- the loop ---------------------------------------------------------------------

    def pump(self, timeout: float, stoppable: bool = True) -> str | None:
        """Wait up to `timeout` for inputs and handle all that came (one fsync for them);
        returns a gate decision when a command made one. Raises Cancelled on a stop."""
        if stoppable:
            self.check_stop()
        if self.store is not None:  # the log's unsynced tail is fsynced in time (group commit)
            timeout = min(timeout, self.store.sync_in())
        items = self.inputs.take(timeout)
        self.show_output()  # before an exit is handled: a task's last lines come first
        decision = None
        with self.batch():
            for item in items:
                decision = self.handle(item) or decision
            if time.monotonic() >= self.inbox_due:
                self.inbox_due = time.monotonic() + self.options.poll_interval
                for item in poll_inbox(self):
                    decision = self.handle(item) or decision
            if self.changed_files:
                apply_reloads(self)
            self.desk.tick()
        if stoppable:
            self.check_stop()
        return decision

    def handle(self, item: inp.Input) -> str | None:
        match item:
            case inp.CommandInput():
                return apply_command(self, item)
            case inp.FileChanged():
                self.changed_files.add(item.name)
            case inp.AgentUsage():
                usage = ev.TaskUsage(
                    task=item.task,
                    input_tokens=item.input_tokens,
                    output_tokens=item.output_tokens,
                    cost_usd=item.cost_usd,
                )
                self.emit(usage)
            case inp.NoticeInput():
                self.notice(item.level, item.text)
            case inp.AgentExited():
                if self.implementer is not None:
                    self.implementer.on_exit(item)
            case inp.StageDone():
                self.stage_done = item
            case inp.Asked() | inp.Withdrawn() | inp.AttemptEnded():
                self.desk.handle(item)
        return None

    def check_stop(self) -> None:
        if self.cancelled or self.stopping.is_set():
            raise Cancelled
        if self.lock and self.lock.lost.is_set():
            self.notice("error", "another orchestrator took over the workspace lock; stopping")
            raise Cancelled

    # ---- the run ----------------------------------------------------------------------

    def run(self) -> str:
        """Run the pipeline to its end (or a stop); returns the outcome ('' when stopped)."""
        if self.store is None:
            self.open()
        if self.options.watch:
            files = [self.options.plan_path, self.system_path, self.options.workspace / CONFIG_PATH]
            self.watcher = PlanWatcher(files, lambda name: self.post(inp.FileChanged(name)))
            self.watcher.start()
        outcome = ""
        try:
            if self.state.finished:
                return self.state.outcome
            with self.inputs.driving():  # agents are watched on this thread (waiting.py)
                self.run_stages()
            outcome = "complete"
            self.emit(ev.RunFinished(outcome="complete", reason="all stages passed"))
        except Cancelled:
            if self.cancelled:
                outcome = "cancelled"
                self.emit(ev.RunFinished(outcome="cancelled", reason="cancelled by the user"))
        except DiskError as exc:
            outcome = "failed"
            self.show(ev.Notice(level="error", text=f"{exc.strerror}; the run stopped"))
        except Exception as exc:  # a bug in the engine: said and logged, never a silent hang
            self.failure = f"the engine failed: {type(exc).__name__}: {exc}"
            try:
                self.notice("error", self.failure)
            except Exception:  # the log itself is what failed: the views still hear it
                self.show(ev.Notice(level="error", text=self.failure))
            raise
        finally:
            self.close()
        return outcome

    def close(self) -> None:
        self.show_output()
        if self.watcher:
            self.watcher.stop(wait=False)  # it ends while the state is saved
        if self.store is not None:
            try:
                self.store.close()
            except OSError as exc:
                self.show(ev.Notice(level="error", text=f"could not save state: {exc}"))
        if self.lock:
            self.lock.release()
        if self.watcher:
            self.watcher.stop()

    def run_stages(self) -> None:
        index = 0
        while index < len(STAGES):
            stage = STAGES[index]
            status = self.state.stages[stage].status
            if status in (StageStatus.APPROVED, StageStatus.SKIPPED):
                index += 1
                continue
            if status in (StageStatus.PENDING, StageStatus.RUNNING, StageStatus.REJECTED):
                self.wait_while_paused()
                execute_stage(self, stage)
            decision = self.gate(stage)
            if decision in ("approve", "skip"):
                index += 1
            elif decision == "reject" and send_back(self, stage):
                index = STAGES.index(StageName.IMPLEMENT)  # the fix round (fix_loop.py)

    # ---- gates ------------------------------------------------------------------------

    def gate(self, stage: StageName) -> str:
        auto = stage in self.options.approve or not self.config.gates.stops_after(stage)
        reads = stage not in SEND_BACK_STAGES or plan_reads_feedback(self)  # a send-back?
        hint = reject_hint(stage, self.config, stage in self.runners, self.state.fix_round, reads)
        if auto_send_back(self, stage, auto):
            return "reject"
        arrival = decisions.arrive_at_gate(self.state, stage, auto, hint)
        if arrival.opened and pass_unchanged(self, stage):
            return "approve"
        self.emit_all(arrival.events)
        if arrival.decision:
            return arrival.decision
        if arrival.opened:
            state = self.state.stages[stage]
            self.notifier.waiting(stage, state.summary, state.status == StageStatus.FAILED)
        elif self.state.gate is not None:  # left open by an earlier process: it waits here now
            self.show(ev.GateOpened(**self.state.gate.model_dump(exclude={"opened_at"})))
        wait = self.options.gate_wait
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            decision = self.pump(self.options.poll_interval)
            if decision:
                return decision
            if deadline is not None and time.monotonic() >= deadline:
                self.give_up_at_gate(stage, timed_out=bool(wait))
            if stage == StageName.PARALLEL and self.plan_edited_at_gate:
                self.plan_edited_at_gate = False
                retry = ev.GateDecided(
                    stage=stage, decision="retry", feedback="PLAN.md changed", by="engine"
                )
                self.emit(retry)
                return "retry"

    def give_up_at_gate(self, stage: StageName, timed_out: bool) -> None:
        gate = self.state.gate
        what = "failed" if gate and gate.failed else "needs approval"
        why = [*(gate.summary, *gate.blockers)] if gate else []
        if stage == StageName.IMPLEMENT:  # which tasks, and why (the first three)
            failed = [t for t in self.state.tasks.values() if t.status in decisions.RETRYABLE]
            why += [f"{t.id} {t.status}: {t.reason}" for t in failed if t.reason][:3]
        why = "; ".join(x for x in why if x)
        waited = f" (no answer in {self.options.gate_wait:g} s)" if timed_out else ""
        reason = " ".join(f"{stage.title} {what}{waited}: {why or 'waits for a person'}".split())
        self.notice("warning", f"stopped at the gate: {reason}")
        self.unanswered = GateUnanswered(stage, reason, timed_out)
        raise self.unanswered

    def wait_while_paused(self) -> None:
        while self.state.paused:
            self.pump(self.options.poll_interval)
