"""Taking over a task by hand: what `take TASK` and `done TASK` mean in each state, and the
command that resumes the agent's own session in a terminal. Pure, like core/decisions.py.

- `take T` while T's agent runs: the agent is stopped (the engine waits for its exit, which
  brings the session id), then T is *taken over* (`TaskTakenOver`, carrying the resume
  command). A taken-over task is not failed: it is never retried, nothing resets it on
  resume, and its dependents wait (it is not resolved) — the implement stage waits with
  them until the person says `done T`. In any other state `take` is refused with the reason.
- `done T` while T is taken over: the worktree is committed and merged into the run branch
  like any finished attempt (a merge conflict or a failed merge reads as for an agent), and
  T is done; its dependents may start. In any other state it is refused.
- The resume command per backend (docs/agent-clis.md): claude `claude --resume ID`, codex
  `codex resume ID`, gemini `gemini --resume ID`; an ACP agent's session id is its own
  agent's (claude-agent-acp → claude, codex-acp → codex, gemini --acp → gemini). aider and
  the command, shell and simulated backends have no session to resume: "no resume", and a
  shell opens in the worktree instead.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import events as ev
from .commands import Command
from .decisions import CommandFacts, Decision, Reply, block_events, refuse
from .models import TaskStatus
from .protocols import MergeResult
from .redact import mask_text
from .state import RunState

TAKEOVER_ACTIONS = frozenset({"take", "done"})
DONE_REASON = "done by hand (taken over)"


@dataclass(frozen=True)
class ResumeCommand:
    argv: tuple[str, ...]  # () when there is no session to resume: a shell in the worktree
    note: str = ""


# program (by its file name) -> how to resume a session of it interactively
RESUMERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "claude": ("claude", ("--resume",)),
    "codex": ("codex", ("resume",)),
    "gemini": ("gemini", ("--resume",)),
}
ACP_AGENTS = {"claude-agent-acp": "claude", "codex-acp": "codex", "gemini": "gemini"}


def resume_command(
    backend: str, executable: str, acp_command: Sequence[str], session_id: str
) -> ResumeCommand:
    """The agent's own interactive session, resumed from `session_id`."""
    if backend == "acp":
        program = acp_command[0] if acp_command else executable
        kind = ACP_AGENTS.get(os.path.basename(program), "")
        if not kind:
            name = os.path.basename(program) or "acp"
            return ResumeCommand((), f"no resume: {name} is not an ACP agent we know")
        # gemini --acp is the gemini program itself; the adapters' sessions are their CLI's
        executable = program if kind == "gemini" else ""
        backend = kind
    if backend not in RESUMERS:
        return ResumeCommand((), f"no resume: the {backend} backend keeps no session")
    default, flag = RESUMERS[backend]
    program = executable or default
    if not session_id:
        return ResumeCommand((program,), "no session id was recorded: a new session")
    return ResumeCommand((program, *flag, session_id))


def carried_env(*layers: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    """The environment the agent ran with beyond the orchestrator's own (the profile's,
    the run's), for the resumed session: values that look like secrets are left out (they
    would be masked in the log) and named."""
    env: dict[str, str] = {}
    for layer in layers:
        env.update({str(k): str(v) for k, v in layer.items()})
    secret = tuple(sorted(k for k, v in env.items() if mask_text(v) != v))
    return {k: v for k, v in env.items() if k not in secret}, secret


def taken_over(
    task_id: str,
    attempt: int,
    workdir: str,
    agent: str,
    backend: str,
    resume: ResumeCommand,
    env: Mapping[str, str],
    left_out: Sequence[str] = (),
    session_id: str = "",
) -> ev.TaskTakenOver:
    note = resume.note
    if left_out:
        extra = "not carried over (set them yourself): " + ", ".join(left_out)
        note = f"{note}; {extra}" if note else extra
    return ev.TaskTakenOver(
        task=task_id,
        attempt=attempt,
        session_id=session_id,
        workdir=workdir,
        agent=agent,
        backend=backend,
        command=resume.argv,
        env=dict(env),
        note=note,
    )


# ---- commands ---------------------------------------------------------------------------


def decide_takeover(state: RunState, command: Command, facts: CommandFacts) -> Decision:
    """`take T` / `done T`: see the module docstring for what each means in each state."""
    task_id = command.task
    if not task_id:
        return refuse(f"{command.action} needs a task ID")
    task = state.tasks.get(task_id)
    if task is None:
        return refuse(f"no task {task_id!r}")
    if not facts.implementing:
        return refuse(f"the implement stage is not running: {command.action} {task_id} ignored")
    if task_id not in facts.plan_ids:
        return refuse(f"{task_id} is not in the plan")
    if command.action == "take":
        return decide_take(state, task_id, facts)
    return decide_done(state, task_id)


def decide_take(state: RunState, task_id: str, facts: CommandFacts) -> Decision:
    status = state.tasks[task_id].status
    if status == TaskStatus.TAKEN_OVER:
        return refuse(f"{task_id} is already taken over: `done {task_id}` when you have finished")
    if task_id in facts.taking_over:
        return refuse(f"{task_id} is being taken over: its agent is stopping")
    if status == TaskStatus.RUNNING and task_id in facts.running:
        return Decision(
            reply=Reply(
                True,
                f"stopping {task_id}'s agent; its session opens for you when it has stopped",
                take_over=(task_id,),
            )
        )
    why = {
        TaskStatus.PENDING: "has not started: there is no agent session to take over yet",
        TaskStatus.READY: "has not started: there is no agent session to take over yet",
        TaskStatus.RUNNING: "is not running now (its agent is stopping)",
        TaskStatus.DONE: "is done and merged: nothing to take over",
        TaskStatus.SKIPPED: "is skipped: nothing to take over",
        TaskStatus.FAILED: "failed and its agent has exited: retry it, then take it over "
        "while it runs",
        TaskStatus.BLOCKED: "is blocked and has not run: nothing to take over",
        TaskStatus.CONFLICT: "is in conflict and its agent has exited: retry it, then take "
        "it over while it runs",
    }.get(status, f"is {status}")
    return refuse(f"{task_id} {why}; only a running task can be taken over")


def decide_done(state: RunState, task_id: str) -> Decision:
    status = state.tasks[task_id].status
    if status == TaskStatus.TAKEN_OVER:
        return Decision(
            reply=Reply(True, f"{task_id}: committing and merging your work", hand_back=(task_id,))
        )
    if status == TaskStatus.RUNNING:
        return refuse(f"{task_id} is running: take it over first (`take {task_id}`)")
    if status == TaskStatus.DONE:
        return refuse(f"{task_id} is already done")
    return refuse(f"{task_id} is {status}, not taken over: `done` finishes a task you took over")


def after_hand_back(
    state: RunState,
    task_id: str,
    merge: MergeResult | None,
    merge_error: str,
    downstream: Sequence[str],
    duration: float = 0.0,
) -> tuple[ev.EventBase, ...]:
    """`done T` once the worktree was committed and merged (or not): done, a conflict, or
    failed — the last two block its dependents as an agent's would."""
    attempt = state.tasks[task_id].attempt
    session = state.tasks[task_id].session_id
    common = {"task": task_id, "attempt": attempt, "session_id": session, "duration": duration}
    if merge is None:
        reason = f"merge failed: {merge_error}"
        return (
            ev.TaskFinished(**common, status="failed", reason=reason),
            *block_events(state, task_id, downstream, "failed"),
        )
    if merge.conflict_files:
        return (
            ev.MergeConflict(task=task_id, files=merge.conflict_files),
            ev.TaskFinished(
                **common,
                status="conflict",
                reason="merge conflict: " + ", ".join(merge.conflict_files),
            ),
            *block_events(state, task_id, downstream, "has a merge conflict"),
        )
    if not merge.ok:
        return (
            ev.TaskFinished(**common, status="failed", reason=merge.message),
            *block_events(state, task_id, downstream, "failed"),
        )
    return (
        ev.TaskMerged(task=task_id, commit=merge.commit),
        ev.TaskFinished(**common, status="done", reason=DONE_REASON, files=merge.files),
    )


# ---- opening it -------------------------------------------------------------------------


def shell_line(workdir: str, argv: Sequence[str], env: Mapping[str, str]) -> str:
    """The exact command to type: `cd WORKTREE && K=V claude --resume ID`."""
    parts = [f"cd {shlex.quote(workdir)}"]
    if argv:
        assignments = [f"{k}={shlex.quote(v)}" for k, v in sorted(env.items())]
        parts.append(" ".join([*assignments, shlex.join(argv)]))
    return " && ".join(parts)


def tmux_window(workdir: str, argv: Sequence[str], env: Mapping[str, str], name: str) -> list[str]:
    """`tmux new-window -c WORKTREE [-e K=V…] 'claude --resume ID'` (a shell without argv)."""
    window = ["tmux", "new-window", "-n", name, "-c", workdir]
    if argv:
        for key, value in sorted(env.items()):
            window += ["-e", f"{key}={value}"]
        window.append(shlex.join(argv))
    return window
