"""The ACP run's side of the permission queue, messages and interrupts, and its outcome.

A `session/request_permission` becomes a queue request (core/permissions.py) through the
reporter's `ask(request, reply)` (engine/asking.py); `reply` comes from the engine's
thread (or at once, when a `[permissions]` rule answers) and settles a future on the
run's loop. The answer picks an option by kind (acp_view.py).
"Allow for this session" is remembered here, per tool, for the rest of the run: the
adapters' own allow_always may write rules into the worktree. A run that has no one to
ask (no `ask` on its reporter) refuses. Requests still waiting when the turn is cancelled
or the agent goes are answered "cancelled" and withdrawn from the queue.

The run is the queue's Channel for its task: `say` queues a message that is sent as the
next prompt when the turn ends; `interrupt` sends `session/cancel`, and the run then waits
for the next message (its clocks stopped, as while a request waits).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..core.permissions import HUMANS, PermissionRequest
from ..core.protocols import AgentEvents, AgentJob, AgentResult
from ..core.redact import mask_text
from .acp_view import AcpView, describe_permission, dump, pick_option
from .base import clip

CALL_WAIT = 0.1  # seconds a permission request waits for its tool call's update

STOP_REASONS = {
    "max_tokens": "agent reported error: max tokens reached",
    "max_turn_requests": "max turns reached",
    "refusal": "agent reported error: the model refused",
    "cancelled": "agent reported error: the agent cancelled the turn",
}


class Client:
    """The client side the agent calls: updates and permission requests."""

    def __init__(self, run: Any) -> None:
        self.run = run

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.run.show(self.run.view.update(dump(update)))

    async def request_permission(
        self, session_id: str, tool_call: Any, options: list[Any], **kwargs: Any
    ) -> Any:
        return await self.run.permission(dump(tool_call), [dump(o) for o in options])


class Asking:
    """Mixed into AcpRun (acp.py), which sets these up."""

    job: AgentJob
    events: AgentEvents
    view: AcpView
    loop: asyncio.AbstractEventLoop | None
    messages: asyncio.Queue[str] | None
    waiting: dict[int, asyncio.Future[Any]]
    asked: int
    session_id: str
    in_turn: bool
    interrupted: bool
    idle: bool
    ended: bool
    stopping: str
    stop_reason: str
    error: str
    stderr_tail: list[str]
    session_allowed: set[str]
    denied_by_user: list[str]
    denied: list[str]
    conn: Any
    cancelling: asyncio.Future[Any] | None

    def show(self, lines: list[str]) -> None:
        raise NotImplementedError

    # ---- permission requests ------------------------------------------------------

    async def known_call(self, call_id: str) -> dict[str, Any]:
        """The tool call as its session/update told it (claude-agent-acp names the CLI's
        tool, "Bash", only there). The adapter sends that update before the request, but
        acp's Connection handles each message in a task of its own, so on a busy machine
        the request can come first: waiting (at most CALL_WAIT seconds) lets the update
        land, else the request is named by what it carries ("execute")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CALL_WAIT
        while call_id and call_id not in self.view.calls and loop.time() < deadline:
            await asyncio.sleep(0.002)
        return self.view.calls.get(call_id, {})

    async def permission(self, call: dict[str, Any], options: list[dict[str, Any]]) -> Any:
        from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

        def respond(option: str | None) -> Any:
            if option is None:
                return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
            return RequestPermissionResponse(
                outcome=AllowedOutcome(option_id=option, outcome="selected")
            )

        known = await self.known_call(str(call.get("toolCallId") or ""))
        call = {**known, **{k: v for k, v in call.items() if v not in (None, [], {})}}
        fields = describe_permission(call, options, self.job.workdir)
        fields.update(summary=mask_text(fields["summary"]), detail=mask_text(fields["detail"]))
        line = f"{fields['tool']} {fields['summary']}".rstrip()
        if self.stopping or self.ended:
            return respond(None)
        if fields["tool"] in self.session_allowed and "allow" in fields["options"]:
            self.show([f"? allowed for this session: {line}"])
            return respond(pick_option(options, "allow"))
        ask = getattr(self.events, "ask", None)
        if ask is None:  # a bare run: nobody to ask
            self.denied.append(f"{fields['tool']} ({clip(fields['summary'], 80)})")
            self.show([f"? denied (no one to ask): {line}"])
            return respond(pick_option(options, "deny"))
        assert self.loop is not None
        future: asyncio.Future[Any] = self.loop.create_future()
        self.asked += 1
        key = self.asked
        self.waiting[key] = future
        answered_now: list[Any] = []

        def reply(answer: Any) -> None:  # from the engine's thread (or at once, by a rule)
            answered_now.append(answer)
            assert self.loop is not None
            self.loop.call_soon_threadsafe(settle, future, answer)

        request = make_request(fields, {"toolCall": call, "options": options})
        desk_id = ask(request, reply)
        if not answered_now:
            self.show([f"? {desk_id} waits for you: {line}"])
        try:
            answer = await future
        finally:
            self.waiting.pop(key, None)
        if answer is None:  # the turn was cancelled or the agent is going
            withdraw = getattr(self.events, "withdraw", None)
            if withdraw is not None:
                withdraw(desk_id, "the agent's turn ended before an answer")
            return respond(None)
        decision, by = answer.decision, getattr(answer, "by", "")
        if decision == "allow_session":
            self.session_allowed.add(fields["tool"])
        elif decision == "deny":
            said = f"{fields['tool']} ({clip(fields['summary'], 80)})"
            (self.denied_by_user if by in HUMANS else self.denied).append(said)
        self.show([f"? {desk_id} {decision} by {by or '?'}: {line}"])
        return respond(pick_option(options, decision))

    def release_waiting(self) -> None:
        """Requests still waiting are answered "cancelled" (and withdrawn from the queue)."""
        for future in list(self.waiting.values()):
            settle(future, None)

    # ---- the queue's Channel (from the engine's thread) ------------------------------

    def holding(self) -> bool:
        return bool(self.waiting) or self.idle

    def say(self, text: str) -> str:
        if self.ended or self.loop is None or self.messages is None:
            return "the agent has ended"
        self.loop.call_soon_threadsafe(self.messages.put_nowait, text)
        return ""

    def interrupt(self) -> str:
        if self.ended or self.loop is None or not self.in_turn or not self.session_id:
            return "the agent is not in a turn"
        self.interrupted = True
        self.loop.call_soon_threadsafe(self.cancel_turn)
        return ""

    def cancel_turn(self) -> None:
        """`session/cancel`; requests still waiting are answered "cancelled" (the protocol
        wants that of the client)."""
        self.release_waiting()
        if self.conn is not None and self.session_id:
            self.cancelling = asyncio.ensure_future(self.conn.cancel(session_id=self.session_id))

    def take_messages(self) -> str:
        assert self.messages is not None
        texts = []
        while not self.messages.empty():
            texts.append(self.messages.get_nowait())
        return "\n\n".join(texts)

    # ---- the outcome ----------------------------------------------------------------

    def result(self, code: int | None) -> AgentResult:
        files = tuple(dict.fromkeys(self.view.files))
        final = self.view.final_text()
        common = {"session_id": self.session_id, "final_text": final, "files": files}
        if self.stopping:
            return AgentResult(ok=False, reason=self.stopping, exit_code=None, **common)
        reason = self.error
        if not reason and not self.stop_reason:
            reason = f"exit {code}" if code is not None else "the agent exited"
            tail = [line for line in self.stderr_tail if line.strip()]
            reason = f"{reason} before the turn ended" + (
                f": {clip(tail[-1], 200)}" if tail else ""
            )
        if not reason and self.stop_reason != "end_turn":
            reason = STOP_REASONS.get(self.stop_reason, f"agent reported error: {self.stop_reason}")
        if not reason and self.denied:
            reason = "permission denied: " + ", ".join(dict.fromkeys(self.denied))
        if reason:
            return AgentResult(ok=False, reason=reason, exit_code=code, **common)
        if self.denied_by_user:
            said = ", ".join(dict.fromkeys(self.denied_by_user))
            return AgentResult(ok=True, reason=f"denied by the user: {said}", exit_code=0, **common)
        return AgentResult(ok=True, reason="ok", exit_code=0, **common)


def make_request(fields: dict[str, Any], raw: dict[str, Any]) -> PermissionRequest:
    """The queue's PermissionRequest (core/permissions.py)."""
    return PermissionRequest(raw=raw, **fields)


def settle(future: asyncio.Future[Any], answer: Any) -> None:
    if not future.done():
        future.set_result(answer)


def error_text(exc: Exception) -> str:
    """A JSON-RPC error's message with its details ("Internal error: … exited with code 1")."""
    text = str(exc) or repr(exc)
    data = getattr(exc, "data", None)
    details = data.get("details") or data.get("message") if isinstance(data, dict) else data
    return f"{text}: {details}" if details and str(details) not in text else text
