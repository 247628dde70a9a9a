"""The implement stage: run the plan's tasks on agents, in parallel where the DAG allows.

The engine thread owns every decision; agents run in a thread pool and report through
TaskReporter (output is batched, usage becomes events). A failed task blocks only its
dependents; independent work goes on.
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core import events as ev
from ..core.models import Plan, StageName, Task, TaskStatus
from ..core.protocols import AgentResult, StageResult, TaskIsolation
from ..core.scheduler import Scheduler
from ..infra.session import Command
from .agent_job import run_agent_job, task_prompt

if TYPE_CHECKING:
    from .pipeline import Engine

MAX_BACKOFF = 60.0


def reset_for_retry(engine: Engine, task_id: str) -> tuple[bool, str]:
    task = engine.state.tasks[task_id]
    if task.status not in (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CONFLICT):
        return False, f"{task_id} is {task.status}, not failed: nothing to retry"
    engine.emit(ev.TaskReset(task=task_id, reason="retry requested"))
    unblock_dependents(engine, task_id)
    return True, f"{task_id} will run again"


def skip_task(engine: Engine, task_id: str) -> tuple[bool, str]:
    task = engine.state.tasks[task_id]
    if task.status in (TaskStatus.DONE, TaskStatus.SKIPPED):
        return False, f"{task_id} is already {task.status}"
    if task.status == TaskStatus.RUNNING:
        return False, f"{task_id} is running"
    engine.emit(ev.TaskFinished(task=task_id, status="skipped", reason="skipped by the user"))
    unblock_dependents(engine, task_id)
    return True, f"{task_id} skipped; its dependents may run"


def unblock_dependents(engine: Engine, task_id: str) -> None:
    """Dependents blocked because of `task_id` become pending again."""
    for other_id, other in engine.state.tasks.items():
        if other.status == TaskStatus.BLOCKED and task_id in other.reason.split(" ")[0:1]:
            engine.emit(ev.TaskReset(task=other_id, reason=f"{task_id} no longer failed"))


@dataclass
class Running:
    future: Future[AgentResult]
    cancel: threading.Event
    started: float
    attempt: int
    budget_hit: bool = False


class Implementer:
    """Runs the frozen plan's tasks to the end: done, failed, blocked or skipped."""

    def __init__(self, engine: Engine, feedback: str) -> None:
        assert engine.plan is not None, "the parallel stage sets the plan"
        self.engine = engine
        self.plan = engine.plan
        self.feedback = feedback
        self.scheduler = Scheduler(self.plan.tasks)
        self.isolation: TaskIsolation = engine.isolation_factory(
            engine.options.workspace, engine.state.run_id, engine.config
        )
        self.running: dict[str, Running] = {}
        self.not_before: dict[str, float] = {}
        self.budget_stopped = False

    # ---- setup ---------------------------------------------------------------------

    def reset_tasks(self) -> None:
        """Interrupted tasks start again; after a retry or a reject, failed ones do too."""
        rerun = self.engine.state.stages[StageName.IMPLEMENT].attempt > 1
        named = set(re.findall(r"[A-Za-z0-9_.\-]+", self.feedback)) & set(self.plan.by_id)
        for task_id, task in self.engine.state.tasks.items():
            if task_id not in self.plan.by_id:
                continue
            if task.status == TaskStatus.RUNNING:
                self.engine.emit(ev.TaskReset(task=task_id, reason="interrupted; starting again"))
            elif rerun and task.status in (
                TaskStatus.FAILED,
                TaskStatus.BLOCKED,
                TaskStatus.CONFLICT,
            ):
                self.engine.emit(ev.TaskReset(task=task_id, reason="stage retried"))
            elif (
                self.feedback and task.status == TaskStatus.DONE and (not named or task_id in named)
            ):
                self.engine.emit(ev.TaskReset(task=task_id, reason="changes requested"))

    # ---- the loop ------------------------------------------------------------------

    def run(self) -> StageResult:
        engine = self.engine
        engine.implementer = self
        self.reset_tasks()
        try:
            while True:
                with engine.batch():
                    engine.service()
                    self.collect(done_only=True)
                    self.check_budget()
                    started = self.start_ready()
                idle = not self.running and not started and not self.waiting_for_backoff()
                if idle and not engine.state.paused:
                    break
                if self.running:
                    futures = [r.future for r in self.running.values()]
                    wait(futures, timeout=engine.options.poll_interval, return_when=FIRST_COMPLETED)
                else:
                    engine.idle()
        except BaseException:
            self.cancel_all()
            raise
        finally:
            engine.implementer = None
        return self.result()

    def status(self) -> dict[str, TaskStatus]:
        return {tid: t.status for tid, t in self.engine.state.tasks.items()}

    def waiting_for_backoff(self) -> bool:
        status = self.status()
        return any(status.get(t) == TaskStatus.PENDING for t in self.not_before)

    def start_ready(self) -> int:
        engine = self.engine
        if engine.state.paused or self.budget_stopped:
            return 0
        now = time.monotonic()
        capacity = engine.concurrency - len(self.running)
        if capacity <= 0:
            return 0
        status = self.status()
        eligible = {t: s for t, s in status.items() if self.not_before.get(t, 0) <= now}
        delayed = {t: TaskStatus.RUNNING for t in status if t not in eligible}
        picked = self.scheduler.pick({**eligible, **delayed}, self.running, capacity)
        for task_id in picked:
            self.start(task_id)
        return len(picked)

    def start(self, task_id: str) -> None:
        engine = self.engine
        task = self.plan.task(task_id)
        attempt = engine.state.tasks[task_id].attempt + 1
        try:
            workdir = str(self.isolation.prepare(task, attempt))
        except Exception as exc:  # worktree creation failed: the task fails, the run goes on
            engine.emit(ev.TaskStarted(task=task_id, attempt=attempt, agent=task.agent or ""))
            self.finish_failed(task_id, attempt, f"could not prepare its workspace: {exc}", None)
            return
        profile = task.agent or engine.config.agents.default
        engine.emit(ev.TaskStarted(task=task_id, attempt=attempt, agent=profile, workdir=workdir))
        prompt = task_prompt(engine, self.plan, task, self.feedback, workdir)
        cancel = threading.Event()
        session = engine.state.tasks[task_id].session_id if self.feedback else ""
        future = self.launch(task, prompt, workdir, attempt, cancel, session)
        self.running[task_id] = Running(future, cancel, time.monotonic(), attempt)

    def launch(
        self,
        task: Task,
        prompt: str,
        workdir: str,
        attempt: int,
        cancel: threading.Event,
        session: str,
    ) -> Future[AgentResult]:
        """Run the agent in a thread of its own (the scheduler caps how many run)."""
        thread_future: Future[AgentResult] = Future()

        def work() -> None:
            try:
                result = run_agent_job(self.engine, task, prompt, workdir, attempt, cancel, session)
            except Exception as exc:  # the engine must hear back, or it would wait forever
                result = AgentResult(ok=False, reason=f"agent thread failed: {exc}", exit_code=None)
            thread_future.set_result(result)

        threading.Thread(target=work, name=f"agent-{task.id}", daemon=True).start()
        return thread_future

    def collect(self, done_only: bool) -> None:
        for task_id, running in list(self.running.items()):
            if done_only and not running.future.done():
                continue
            result = running.future.result()
            del self.running[task_id]
            self.finish(task_id, running, result)

    def finish(self, task_id: str, running: Running, result: AgentResult) -> None:
        engine = self.engine
        duration = time.monotonic() - running.started
        if engine.stopping.is_set() and not result.ok:
            return  # interrupted by a stop: resume starts it again
        if result.ok:
            task = self.plan.task(task_id)
            try:
                merge = self.isolation.finish(task)
            except Exception as exc:
                self.finish_failed(task_id, running.attempt, f"merge failed: {exc}", None)
                return
            if merge.conflict_files:
                engine.emit(ev.MergeConflict(task=task_id, files=merge.conflict_files))
                engine.emit(
                    ev.TaskFinished(
                        task=task_id,
                        status="conflict",
                        attempt=running.attempt,
                        duration=duration,
                        reason="merge conflict: " + ", ".join(merge.conflict_files),
                    )
                )
                self.block_downstream(task_id, "has a merge conflict")
                return
            if not merge.ok:
                self.finish_failed(task_id, running.attempt, merge.message, None)
                return
            engine.emit(ev.TaskMerged(task=task_id, commit=merge.commit))
            engine.emit(
                ev.TaskFinished(
                    task=task_id,
                    status="done",
                    reason="ok",
                    exit_code=result.exit_code,
                    attempt=running.attempt,
                    duration=duration,
                    files=merge.files or result.files,
                    session_id=result.session_id,
                )
            )
            return
        reason = "task budget reached" if running.budget_hit else result.reason
        retries = self.retries_of(task_id)
        if running.attempt <= retries and not running.budget_hit and not self.budget_stopped:
            delay = min(engine.config.run.retry_backoff * 2 ** (running.attempt - 1), MAX_BACKOFF)
            self.not_before[task_id] = time.monotonic() + delay
            engine.emit(
                ev.TaskFinished(
                    task=task_id,
                    status="failed",
                    reason=f"{reason}; retrying in {delay:g} s",
                    exit_code=result.exit_code,
                    attempt=running.attempt,
                    duration=duration,
                    will_retry=True,
                    session_id=result.session_id,
                )
            )
            return
        self.finish_failed(task_id, running.attempt, reason, result.exit_code, duration)

    def retries_of(self, task_id: str) -> int:
        task = self.plan.task(task_id)
        return task.retries if task.retries is not None else self.engine.config.run.retries

    def finish_failed(
        self, task_id: str, attempt: int, reason: str, exit_code: int | None, duration: float = 0.0
    ) -> None:
        self.engine.emit(
            ev.TaskFinished(
                task=task_id,
                status="failed",
                reason=reason,
                exit_code=exit_code,
                attempt=attempt,
                duration=duration,
            )
        )
        self.engine.notifier.task_failed(task_id, reason)
        self.block_downstream(task_id, "failed")

    def block_downstream(self, task_id: str, what: str) -> None:
        for other in self.scheduler.downstream(task_id):
            if self.engine.state.tasks[other].status == TaskStatus.PENDING:
                self.engine.emit(ev.TaskBlocked(task=other, cause=f"{task_id} {what}"))

    def cancel_all(self) -> None:
        for running in self.running.values():
            running.cancel.set()
        for task_id, running in list(self.running.items()):
            try:
                running.future.result(timeout=30)
            except TimeoutError:  # it is being stopped; its result no longer matters
                continue
            finally:
                del self.running[task_id]

    # ---- budgets, commands, edits ----------------------------------------------------

    def check_budget(self) -> None:
        engine = self.engine
        budget = engine.config.budget
        state = engine.state
        tokens = state.input_tokens + state.output_tokens
        if not self.budget_stopped and (
            (budget.usd and state.cost_usd >= budget.usd)
            or (budget.tokens and tokens >= budget.tokens)
        ):
            self.budget_stopped = True
            engine.emit(
                ev.BudgetReached(
                    scope="run",
                    limit=f"${budget.usd:g} / {budget.tokens:,} tokens",
                    spent=f"${state.cost_usd:.4f} / {tokens:,} tokens",
                )
            )
        for task_id, running in self.running.items():
            task = state.tasks[task_id]
            if not running.budget_hit and (
                (budget.task_usd and task.cost_usd >= budget.task_usd)
                or (budget.task_tokens and task.tokens >= budget.task_tokens)
            ):
                running.budget_hit = True
                running.cancel.set()
                engine.emit(
                    ev.BudgetReached(
                        scope=f"task {task_id}",
                        spent=f"${task.cost_usd:.4f} / {task.tokens:,}",
                        limit=f"${budget.task_usd:g} / {budget.task_tokens:,} tokens",
                    )
                )

    def task_command(self, command: Command) -> tuple[bool, str]:
        task_id = command.task
        if task_id not in self.plan.by_id:
            return False, f"{task_id} is not in the plan"
        if command.action == "retry":
            ok, message = reset_for_retry(self.engine, task_id)
            if ok:
                self.not_before.pop(task_id, None)
            return ok, message
        running = self.running.get(task_id)
        if running is not None:
            running.cancel.set()
            running.future.result(timeout=30)
            del self.running[task_id]
        return skip_task(self.engine, task_id)

    def plan_changed(self, plan: Plan) -> None:
        self.plan = plan
        self.scheduler = Scheduler(plan.tasks)

    def result(self) -> StageResult:
        tasks = [self.engine.state.tasks[t.id] for t in self.plan.tasks]
        done = [t for t in tasks if t.status == TaskStatus.DONE]
        skipped = [t for t in tasks if t.status == TaskStatus.SKIPPED]
        bad = [t for t in tasks if not t.status.resolved]
        evidence = {
            "done": len(done),
            "skipped": len(skipped),
            "unresolved": len(bad),
            "cost_usd": round(sum(t.cost_usd for t in tasks), 6),
            "tokens": sum(t.tokens for t in tasks),
        }
        if not bad:
            extra = f" ({len(skipped)} skipped)" if skipped else ""
            return StageResult(ok=True, summary=f"{len(done)} tasks done{extra}", evidence=evidence)
        lines = [f"- {t.id} {t.status}: {t.reason}" for t in bad]
        counts = ", ".join(
            f"{sum(1 for t in bad if t.status == s)} {s}"
            for s in (
                TaskStatus.FAILED,
                TaskStatus.CONFLICT,
                TaskStatus.BLOCKED,
                TaskStatus.PENDING,
            )
            if any(t.status == s for t in bad)
        )
        why = " (budget reached)" if self.budget_stopped else ""
        return StageResult(
            ok=False,
            summary=f"{counts}{why}; {len(done)} done",
            details="Retry a task with `R` (or `orchestrator-tui retry ID`), skip it with `s`, "
            "or retry the stage.\n\n" + "\n".join(lines),
            evidence=evidence,
        )
