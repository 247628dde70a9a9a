"""The permission queue and the line to running agents, the engine's side.

Agents' threads call the task's reporter (agent_job.py), which calls the desk:

- `ask(task, attempt, request, reply) -> id`: a rule of `[permissions]` (or, headless with
  --approve all, nobody) may answer at once — `reply(answer)` before `ask` returns; else
  the request waits. Either way an `Asked` input records it (PermissionAsked, and the
  answer). `reply` must not block (the Claude backend writes to the agent's stdin queue,
  the ACP one hands it to its loop).
- `withdraw(id, reason)`: the agent withdrew it; `ended(task, attempt)`: the attempt is
  over, what still waits of it is withdrawn.
- `attach(task, channel)` / `detach`: a backend that can take messages (`say(text)`,
  `interrupt()`, each returning "" or why not) registers itself while it runs.

On the engine thread: `handle` records what the inputs say, `command` answers a person's
allow / allow_session / deny (the first answer wins: the fold settles a request once, a
later answer reads "already answered") and say / interrupt, `tick` turns requests older
than `[permissions] timeout` into the configured answer, `resumed` withdraws what a killed
run left waiting. The rules themselves are core/permissions.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from ..core import events as ev
from ..core import permissions as perm
from ..core.commands import Command
from ..core.permissions import Answer, PermissionRequest
from .context import EngineCore
from .inputs import Asked, AskInput, AttemptEnded, Withdrawn

Reply = Callable[[Answer], None]
TICK_SECONDS = 0.5


class Channel(Protocol):
    def say(self, text: str) -> str: ...

    def interrupt(self) -> str: ...


class Desk:
    def __init__(self, engine: EngineCore, unattended: bool = False) -> None:
        self.engine = engine
        self.unattended = unattended
        self.lock = threading.Lock()
        self.number = 0
        self.replies: dict[str, tuple[str, int, Reply]] = {}
        self.channels: dict[str, Channel] = {}
        self.ticked = 0.0

    # ---- agents' threads ----------------------------------------------------------

    def ask(self, task: str, attempt: int, request: PermissionRequest, reply: Reply) -> str:
        settings = self.engine.config.permissions
        answer = perm.rule_answer(settings.allow, settings.deny, request)
        if answer is None and self.unattended:
            answer = perm.unattended_answer(request)
        with self.lock:
            if not self.number:
                self.number = perm.next_id(self.engine.state.permissions)
            request_id, self.number = f"P{self.number}", self.number + 1
            if answer is None:
                self.replies[request_id] = (task, attempt, reply)
        if answer is not None:
            reply(answer)
        self.engine.post(Asked(task, attempt, request_id, request, answer))
        return request_id

    def withdraw(self, request_id: str, reason: str) -> None:
        with self.lock:
            known = self.replies.pop(request_id, None)
        if known is not None:
            self.engine.post(Withdrawn(request_id, reason))

    def ended(self, task: str, attempt: int) -> None:
        self.engine.post(AttemptEnded(task, attempt))

    def attach(self, task: str, channel: Channel) -> None:
        with self.lock:
            self.channels[task] = channel

    def detach(self, task: str, channel: Channel) -> None:
        with self.lock:
            if self.channels.get(task) is channel:
                del self.channels[task]

    # ---- the engine thread --------------------------------------------------------

    def handle(self, item: AskInput) -> None:
        engine = self.engine
        if isinstance(item, Asked):
            request = item.request
            engine.emit(
                ev.PermissionAsked(
                    request_id=item.request_id,
                    task=item.task,
                    attempt=item.attempt,
                    tool=request.tool,
                    summary=request.summary,
                    detail=request.detail,
                    options=request.options,
                )
            )
            if item.answer is not None:
                self.record(item.request_id, item.task, item.answer)
            elif engine.state.permissions[item.request_id].waiting:
                line = f"{item.task} waits for you: {request.line} ({item.request_id})"
                engine.notifier.send("implement", line)
        elif isinstance(item, Withdrawn):
            self.settle_withdrawn(item.request_id, item.reason)
        else:
            with self.lock:
                left = [
                    rid
                    for rid, (task, attempt, _) in self.replies.items()
                    if task == item.task and attempt == item.attempt
                ]
                for rid in left:
                    del self.replies[rid]
            for rid in left:
                self.settle_withdrawn(rid, "the agent ended before an answer")

    def settle_withdrawn(self, request_id: str, reason: str) -> None:
        permission = self.engine.state.permissions.get(request_id)
        if permission is not None and permission.waiting:
            self.engine.emit(
                ev.PermissionWithdrawn(request_id=request_id, task=permission.task, reason=reason)
            )

    def record(self, request_id: str, task: str, answer: Answer) -> None:
        self.engine.emit(
            ev.PermissionAnswered(
                request_id=request_id,
                task=task,
                decision=answer.decision,
                message=answer.message,
                by=answer.by,
            )
        )

    def answer(self, request_id: str, answer: Answer) -> tuple[bool, str]:
        """A person's (or the timeout's) answer: recorded, then given to the agent."""
        permission, problem = perm.check_answer(
            self.engine.state.permissions, request_id, answer.decision
        )
        if permission is None:
            return False, problem
        with self.lock:
            waiting = self.replies.pop(request_id, None)
        if waiting is None:  # its agent went (or an earlier engine's): nobody to tell
            self.settle_withdrawn(request_id, "the agent no longer waits")
            return False, f"{request_id} was withdrawn: the agent no longer waits"
        self.record(request_id, permission.task, answer)
        waiting[2](answer)
        return True, perm.answered_text(permission, answer.decision, answer.by)

    def command(self, command: Command) -> tuple[bool, str]:
        """allow / allow_session / deny ID, or say / interrupt TASK (engine/commands.py)."""
        if command.action in ("say", "interrupt"):
            return self.tell(command)
        message = command.feedback
        if command.action == "deny" and not message:
            message = "denied by the user"
        return self.answer(command.task, Answer(command.action, message, command.by))

    def tell(self, command: Command) -> tuple[bool, str]:
        task, text = command.task, command.feedback
        with self.lock:
            channel = self.channels.get(task)
        if command.action == "say" and not text.strip():
            problem = "say what? (the message is empty)"
        elif task not in self.engine.state.tasks and channel is None:
            problem = f"no task {task!r}"
        elif channel is None:
            problem = f"{task} has no running agent that takes messages"
        else:
            try:
                problem = channel.say(text) if command.action == "say" else channel.interrupt()
            except Exception as exc:  # a backend bug: said, never a crash of the engine
                problem = f"{type(exc).__name__}: {exc}"
        ok = not problem
        self.engine.emit(
            ev.AgentTold(
                task=task, action=command.action, text=text, by=command.by, ok=ok, message=problem
            )  # type: ignore[arg-type]
        )
        if ok:
            said = f"» {command.by}: {text}" if command.action == "say" else ""
            self.engine.output.add(task, [said or f"» interrupted by {command.by}"])
            return True, f"{command.action} {task}: sent"
        return False, problem

    def tick(self, now: float | None = None) -> None:
        """Requests that waited longer than `[permissions] timeout` get its answer."""
        monotonic = time.monotonic()
        if monotonic - self.ticked < TICK_SECONDS:
            return
        self.ticked = monotonic
        settings = self.engine.config.permissions
        late = perm.overdue(self.engine.state.permissions, now or time.time(), settings.timeout)
        for permission in late:
            answer = perm.timeout_answer(
                settings.on_timeout, settings.timeout, settings.timeout_message
            )
            if answer.decision not in permission.options:
                answer = Answer("deny", answer.message, answer.by)
            self.answer(permission.id, answer)

    def resumed(self) -> None:
        """A killed run's requests waited for an agent that is gone: withdrawn (the
        rerun attempt asks again)."""
        for permission in perm.waiting(self.engine.state.permissions):
            self.settle_withdrawn(permission.id, "the run stopped before an answer")

    def holding(self, task: str) -> bool:
        with self.lock:
            return any(t == task for t, _, _ in self.replies.values())
