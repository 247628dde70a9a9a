"""The implement stage: run the plan's tasks on agents, in parallel where the DAG allows.

Driven the graphlib way, on the engine thread: ask the scheduler for ready work, start it,
and when an agent's exit arrives as an input, tell the rules (core/decisions.py) what
happened — merged and done, a conflict, a retry after backoff (the task *waits*; it is not
running), or a failure that blocks its dependents. A failed task blocks only its dependents;
independent work goes on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from ..core import decisions
from ..core import events as ev
from ..core.decisions import Attempt, Reply
from ..core.models import Plan, StageName, TaskStatus
from ..core.protocols import AgentResult, StageResult, TaskIsolation
from ..core.scheduler import Scheduler
from ..core.state import TaskState
from . import inputs as inp
from .agent_job import start_agent_job, task_prompt
from .context import EngineCore
from .takeover import hand_back, record_taken_over

STOP_GRACE = 30.0  # how long a stop waits for agents to report their exit


@dataclass
class Running:
    cancel: threading.Event
    started: float
    attempt: int
    budget_hit: bool = False


class Implementer:
    """Runs the frozen plan's tasks to the end: done, failed, blocked or skipped."""

    def __init__(self, engine: EngineCore, feedback: str) -> None:
        assert engine.plan is not None, "the parallel stage sets the plan"
        self.engine = engine
        self.plan = engine.plan
        self.feedback = feedback
        self.scheduler = Scheduler(self.plan.tasks)
        self.tell_scheduler_all()
        self.isolation: TaskIsolation = engine.isolation_factory(
            engine.options.workspace, engine.state.run_id, engine.config
        )
        self.running: dict[str, Running] = {}
        self.not_before: dict[str, float] = {}  # tasks waiting out their backoff
        self.lost: dict[str, int] = {}  # attempts lost with their machine: not counted
        self.budget_stopped = False
        self.stopped = False
        self.taking: set[str] = set()  # agents stopping for a person (core/takeover.py)

    def finished_in_git(self, reset: ev.EventBase) -> bool:
        """A task killed after its merge: git holds its work, so it is recorded finished
        from what git shows instead of reset, and its agent does not run again (bug G;
        infra/gitsteps.py)."""
        task_id = getattr(reset, "task", "")
        task = self.engine.state.tasks.get(task_id)
        if task is None or task.status != TaskStatus.RUNNING:
            return False
        check = getattr(self.isolation, "merged_attempt", None)
        try:
            merge = check(self.plan.task(task_id), task.attempt) if check else None
        except Exception:  # git cannot tell: run it again, as before
            return False
        if merge is None:
            return False
        if not task.merged:
            self.engine.emit(ev.TaskMerged(task=task_id, commit=merge.commit))
        self.engine.emit(
            ev.TaskFinished(
                task=task_id,
                status="done",
                reason="ok (merged before the orchestrator stopped)",
                attempt=task.attempt,
                files=merge.files,
                session_id=task.session_id,
            )
        )
        return True

    # ---- the loop ------------------------------------------------------------------

    def run(self) -> StageResult:
        engine = self.engine
        engine.implementer = self
        resets = decisions.resets_for_stage(engine.state, self.plan.by_id, self.feedback)
        engine.emit_all([r for r in resets if not self.finished_in_git(r)])
        try:
            while True:
                with engine.batch():
                    self.check_budget()
                    started = self.start_ready()
                waiting = self.waiting()
                idle = not self.running and not started and not waiting
                if idle and not engine.state.paused and not self.taken_over():
                    self.tell_scheduler_all()  # a last look at every task before the end
                    with engine.batch():
                        if not self.start_ready():
                            break
                engine.pump(self.next_timeout(waiting))
        except BaseException:
            self.stop_all()
            raise
        finally:
            engine.implementer = None
        return self.result()

    def waiting(self) -> set[str]:
        """Tasks waiting out a backoff (pending, not yet allowed to start)."""
        tasks = self.engine.state.tasks
        return {t for t in self.not_before if tasks[t].status == TaskStatus.PENDING}

    def taken_over(self) -> bool:
        """A person works on a task: the stage waits for their `done` (its dependents too)."""
        tasks = self.engine.state.tasks
        return any(tasks[t.id].status == TaskStatus.TAKEN_OVER for t in self.plan.tasks)

    def next_timeout(self, waiting: set[str]) -> float:
        poll = self.engine.options.poll_interval
        if self.running or not waiting:
            return poll  # output batches are flushed every turn
        soonest = min(self.not_before[t] for t in waiting) - time.monotonic()
        return min(max(soonest, 0.0), poll)

    def start_ready(self) -> int:
        engine = self.engine
        if engine.state.paused or self.budget_stopped:
            return 0
        capacity = engine.concurrency - len(self.running)
        if capacity <= 0:
            return 0
        now = time.monotonic()
        held = {t for t, at in self.not_before.items() if at > now}
        self.tell_scheduler()
        picked = self.scheduler.pick(self.running, capacity, waiting=held)
        for task_id in picked:
            self.not_before.pop(task_id, None)
            self.start(task_id)
        return len(picked)

    def tell_scheduler(self) -> None:
        """The scheduler hears the status of the tasks that changed since it last heard."""
        changed = self.engine.changed_tasks()
        if changed is None:
            self.tell_scheduler_all()
        else:
            tasks = self.engine.state.tasks
            self.scheduler.update({t: tasks[t].status for t in changed if t in tasks})

    def tell_scheduler_all(self) -> None:
        tasks = self.engine.state.tasks.items()
        self.scheduler.update({task_id: task.status for task_id, task in tasks})

    def start(self, task_id: str) -> None:
        engine = self.engine
        task = self.plan.task(task_id)
        attempt = engine.state.tasks[task_id].attempt + 1
        profile = task.agent or engine.config.agents.default
        try:
            workdir = str(self.isolation.prepare(task, attempt))
        except Exception as exc:  # worktree creation failed: the task fails, the run goes on
            engine.emit(ev.TaskStarted(task=task_id, attempt=attempt, agent=profile))
            nothing = Attempt(task_id, attempt, 0.0, AgentResult(ok=False, reason=""))
            self.fail(nothing, f"could not prepare its workspace: {exc}")
            return
        engine.emit(ev.TaskStarted(task=task_id, attempt=attempt, agent=profile, workdir=workdir))
        sent_back = engine.state.tasks[task_id].fix_feedback  # a fix round's failures
        feedback = "\n\n".join(t for t in (sent_back, self.feedback) if t)
        prompt = task_prompt(engine, self.plan, task, feedback, workdir)
        cancel = threading.Event()
        session = engine.state.tasks[task_id].session_id if self.feedback else ""
        self.running[task_id] = Running(cancel, time.monotonic(), attempt)

        def done(result: AgentResult) -> None:  # the engine must hear back, whatever happens
            engine.post(inp.AgentExited(task_id, attempt, result))

        try:
            start_agent_job(engine, task, prompt, workdir, attempt, cancel, done, session)
        except Exception as exc:
            done(AgentResult(ok=False, reason=f"agent failed to start: {exc}", exit_code=None))

    # ---- inputs --------------------------------------------------------------------

    def on_exit(self, item: inp.AgentExited) -> None:
        running = self.running.get(item.task)
        if running is None or running.attempt != item.attempt:
            self.isolation.discard(self.plan.task(item.task))  # skipped while it ran
            return
        del self.running[item.task]
        engine = self.engine
        result = item.result
        if item.task in self.taking:  # stopped for a person: theirs now, whatever it said
            self.taking.discard(item.task)
            record_taken_over(engine, self.plan.task(item.task), item)
            return
        if self.stopped or (engine.stopping.is_set() and not result.ok):
            return  # interrupted by a stop: resume starts it again
        attempt = Attempt(
            item.task,
            item.attempt,
            time.monotonic() - running.started,
            result,
            budget_hit=running.budget_hit,
        )
        if result.ok:
            try:
                merge = self.isolation.finish(self.plan.task(item.task), item.at)
                attempt = replace(attempt, merge=merge)
            except Exception as exc:
                attempt = replace(attempt, merge_error=str(exc))
        if result.requeue:  # lost with its machine (a Ray node), not the agent's fault
            self.lost[item.task] = self.lost.get(item.task, 0) + 1
        outcome = decisions.after_attempt(
            engine.state,
            attempt,
            self.scheduler.downstream(item.task),
            self.retries_of(item.task) + self.lost.get(item.task, 0),
            engine.config.run.retry_backoff,
            self.budget_stopped,
        )
        engine.emit_all(outcome.events)
        if outcome.retry_in is not None:
            self.not_before[item.task] = time.monotonic() + outcome.retry_in
        if outcome.failed:
            engine.notifier.task_failed(item.task, outcome.failed)

    def fail(self, attempt: Attempt, reason: str) -> None:
        downstream = self.scheduler.downstream(attempt.task)
        outcome = decisions.failed_for_good(self.engine.state, attempt, downstream, reason)
        self.engine.emit_all(outcome.events)
        self.engine.notifier.task_failed(attempt.task, reason)

    def carry_out(self, reply: Reply) -> None:
        """What a command's answer asks of the running stage."""
        for task_id in reply.clear_backoff:
            self.not_before.pop(task_id, None)
        for task_id in reply.stop_tasks:
            running = self.running.pop(task_id, None)
            if running is not None:
                running.cancel.set()
        for task_id in reply.take_over:  # the exit (with the session id) completes it
            if task_id in self.running:
                self.taking.add(task_id)
                self.running[task_id].cancel.set()
        for task_id in reply.hand_back:
            downstream = self.scheduler.downstream(task_id)
            hand_back(self.engine, self.isolation, self.plan.task(task_id), downstream)

    def retries_of(self, task_id: str) -> int:
        task = self.plan.task(task_id)
        return task.retries if task.retries is not None else self.engine.config.run.retries

    def stop_all(self) -> None:
        """Stop every agent and wait (bounded) until each has reported its exit; what they
        report now is not merged (resume starts them again)."""
        self.stopped = True
        for running in self.running.values():
            running.cancel.set()
        deadline = time.monotonic() + STOP_GRACE
        while self.running and time.monotonic() < deadline:
            try:
                self.engine.pump(min(0.2, deadline - time.monotonic()), stoppable=False)
            except Exception:  # e.g. the disk is full: nothing more can be recorded
                break
        self.running.clear()

    # ---- budgets and edits ---------------------------------------------------------

    def check_budget(self) -> None:
        engine = self.engine
        running = {t: r.budget_hit for t, r in self.running.items()}
        budget = engine.config.budget
        check = decisions.check_budget(engine.state, budget, running, self.budget_stopped)
        engine.emit_all(check.events)
        self.budget_stopped = self.budget_stopped or check.stop_run
        for task_id in check.stop_tasks:
            self.running[task_id].budget_hit = True
            self.running[task_id].cancel.set()

    def plan_changed(self, plan: Plan) -> None:
        self.plan = plan
        self.scheduler = Scheduler(plan.tasks)
        self.tell_scheduler_all()

    def fix_round_note(self, tasks: list[TaskState]) -> str:
        """In a fix round, which tasks ran again (the rest kept their merged work)."""
        state = self.engine.state
        stage = state.stages[StageName.IMPLEMENT]
        if not state.fix_round or stage.fix_round != state.fix_round:
            return ""
        ran = [t.id for t in tasks if t.attempts and t.attempts[-1].started_at >= stage.started_at]
        return f"; fix round {state.fix_round}: {', '.join(ran) or 'no task'} ran again"

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
            extra += self.fix_round_note(tasks)
            return StageResult(ok=True, summary=f"{len(done)} tasks done{extra}", evidence=evidence)
        lines = [f"- {t.id} {t.status}: {t.reason}" for t in bad]
        order = (TaskStatus.FAILED, TaskStatus.CONFLICT, TaskStatus.BLOCKED, TaskStatus.PENDING)
        counts = ", ".join(
            f"{sum(1 for t in bad if t.status == s)} {s}"
            for s in order
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
