"""One agent run, as the engine starts it: the prompt (CLAUDE.md's stage instructions, the
goal, the task, the feedback), the job, the backend, and the reporter through which the
agent's output and usage come back (output to the task's buffer, usage and notices as
inputs). An agent CLI runs without a thread of its own: `start_agent_job` starts it under
the shared supervisor and `done(result)` is called when it ends (agents/runner.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.models import Plan, StageName, Task
from ..core.protocols import AgentJob, AgentResult
from .context import EngineCore
from .inputs import AgentUsage, NoticeInput


class TaskReporter:
    """AgentEvents for one task, called from the agent's thread: usage and notices become
    inputs of the engine, output lines wait in the output buffer."""

    def __init__(self, engine: EngineCore, task_id: str, attempt: int = 1) -> None:
        self.engine = engine
        self.task_id = task_id
        self.attempt = attempt

    def output(self, lines: Sequence[str]) -> None:
        """Lines for live views, masked already (once, by the runner: agents/lines.py)."""
        self.engine.output.add(self.task_id, lines)

    def usage(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        self.engine.post(AgentUsage(self.task_id, input_tokens, output_tokens, cost_usd))

    def notice(self, level: str, text: str) -> None:
        self.engine.post(NoticeInput(level, f"{self.task_id}: {text}"))

    # the permission queue and messages (engine/asking.py), for backends that can ask

    def ask(self, request: Any, reply: Callable[[Any], None]) -> str:
        """Queue a permission request; `reply(answer)` comes later (any thread) or, when a
        rule answers, before this returns. Returns the request's id (P1, P2…)."""
        return self.engine.desk.ask(self.task_id, self.attempt, request, reply)

    def withdraw(self, request_id: str, reason: str) -> None:
        self.engine.desk.withdraw(request_id, reason)

    def attach(self, channel: Any) -> None:
        """`channel.say(text)` / `channel.interrupt()` reach this agent from now on."""
        self.engine.desk.attach(self.task_id, channel)

    def detach(self, channel: Any) -> None:
        self.engine.desk.detach(self.task_id, channel)


def task_prompt(engine: EngineCore, plan: Plan, task: Task, feedback: str, workdir: str) -> str:
    """Stage instructions from CLAUDE.md + the run's goal + the task's section + feedback."""
    parts = [
        f"# Task {task.id}: {task.title}",
        "",
        "## Instructions for this stage (from CLAUDE.md)",
        engine.system.for_agent(StageName.IMPLEMENT) or "Implement the task below.",
        "",
        "## The run's goal",
        "\n\n".join(p for p in (plan.title, plan.goal, engine.state.goal) if p) or "(none given)",
        "",
        "## Your task",
        f"ID: {task.id}",
        f"Depends on (already done and merged): {', '.join(task.depends) or 'nothing'}",
        f"Files you may touch: {', '.join(task.files) or 'not declared'}",
        f"Working directory: {workdir}",
        "",
        task.description or "(no description)",
        "",
        *task_paths(engine, workdir),
    ]
    if feedback:
        parts += ["", "## Feedback from the reviewer (address every point)", feedback]
    return "\n".join(parts) + "\n"


def task_paths(engine: EngineCore, workdir: str) -> list[str]:
    """The paths CLAUDE.md says a task's prompt names: the workspace, the run directory,
    the code map `analysis.md` (when the analyze stage wrote one)."""
    workspace = engine.options.workspace
    apart = bool(workdir) and workdir != str(workspace)
    apart = apart and Path(workdir).resolve() != Path(workspace).resolve()
    note = " (the user's checkout: work in your working directory, not there)" if apart else ""
    lines = ["## Paths", f"Workspace{note}: {workspace}"]
    if engine.files is not None:
        lines.append(f"Run directory (reports, read only): {engine.files.dir}")
        analysis = engine.files.report("analysis.md")
        if analysis.is_file():
            lines.append(f"The map of the code: {analysis}")
    return lines


def run_agent_job(
    engine: EngineCore,
    task: Task,
    prompt: str,
    workdir: str,
    attempt: int,
    cancel: threading.Event,
    resume_session: str = "",
) -> AgentResult:
    """Build the job for `task` and run its backend (blocking); any failure is a result."""
    results: list[AgentResult] = []
    finished = threading.Event()

    def done(result: AgentResult) -> None:
        results.append(result)
        finished.set()

    start_agent_job(engine, task, prompt, workdir, attempt, cancel, done, resume_session)
    finished.wait()
    return results[0]


def start_agent_job(
    engine: EngineCore,
    task: Task,
    prompt: str,
    workdir: str,
    attempt: int,
    cancel: threading.Event,
    done: Callable[[AgentResult], None],
    resume_session: str = "",
) -> None:
    """Build the job for `task` and start its backend; `done(result)` is called once, from
    whichever thread saw the end (the supervisor's for agent CLIs; a thread of its own for
    a backend that can only block in `run`). Any failure becomes a result."""
    assert engine.files is not None
    config = engine.config
    try:
        profile_name, profile = config.agents.profile(task.agent)
        backend = engine.backends(profile_name, profile)
    except (KeyError, ValueError, OSError) as exc:  # a profile that cannot be: no retry
        reason = f"agent not available: {exc}"
        retryable = isinstance(exc, OSError)
        done(AgentResult(ok=False, reason=reason, exit_code=None, retryable=retryable))
        return
    prompt_file = engine.files.prompt(task.id)
    log_path = engine.files.log(task.id)

    def write_prompt() -> None:
        prompt_file.parent.mkdir(parents=True, exist_ok=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        prompt_file.write_text(prompt, encoding="utf-8")

    job = AgentJob(
        run_id=engine.files.run_id,
        task=task,
        profile_name=profile_name,
        profile=profile,
        prompt=prompt,
        prompt_file=prompt_file,
        workdir=Path(workdir),
        log_path=log_path,
        attempt=attempt,
        timeout=task.timeout or config.run.task_timeout,
        stall_after=config.run.stall_after,
        env=dict(engine.options.extra_env),
        resume_session=resume_session,
        redact=config.run.redact,
        workspace=engine.options.workspace,
    )
    reporter = TaskReporter(engine, task.id, attempt)
    answered = threading.Lock()  # taken by the first result

    def once(result: AgentResult) -> None:
        if answered.acquire(blocking=False):
            engine.desk.ended(task.id, attempt)  # what still waits of it is withdrawn
            done(result)

    def crashed(exc: Exception) -> AgentResult:
        reason = f"backend crashed: {type(exc).__name__}: {exc}"
        return AgentResult(ok=False, reason=reason, exit_code=None)

    start = getattr(backend, "start", None)
    if start is not None:  # agent CLIs (agents/base.py): no thread waits for them; their
        # prompt file is written where their process is started (agents/runner.py spawn)
        try:
            start(job, reporter, cancel, once)
        except Exception as exc:  # a backend bug becomes the task's failure reason
            once(crashed(exc))
        return

    def work() -> None:
        try:
            write_prompt()
            result = backend.run(job, reporter, cancel)
        except Exception as exc:
            result = crashed(exc)
        once(result)

    threading.Thread(target=work, name=f"agent-{task.id}", daemon=True).start()


def run_single_agent(engine: EngineCore, task: Task, prompt: str, workdir: str = "") -> AgentResult:
    """A stage's own agent (analyze notes, review…): in `workdir` — the run branch's
    checkout for the stages after implement, whose stage commits what it changed — else
    in the workspace."""
    where = workdir or str(engine.options.workspace)
    return run_agent_job(engine, task, prompt, where, 1, engine.stopping)
