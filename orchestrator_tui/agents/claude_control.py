"""Claude Code's stdio control protocol: the prompt and messages on stdin, permission
requests to the queue, interrupts (facts in docs/agent-clis.md, "Asking the human").

The CLI runs with `--input-format stream-json --permission-prompt-tool stdio` and stdin
kept open. The prompt is the first `user` message. A `control_request` `can_use_tool`
becomes a `PermissionRequest` for the reporter's `ask` (engine/asking.py); the answer goes
back as a `control_response`: allow (with the input unchanged), allow for this session
(the CLI's own suggestions with `destination` rewritten to "session", so that nothing is
written into the worktree) or deny with the reason, which the model reads. A
`control_cancel_request` withdraws a request. A run without anyone to ask (no `ask` on its
reporter) denies.

This object is also the task's channel while the agent runs: `say(text)` sends a `user`
message (folded into the running turn, or the start of the next), `interrupt()` a
`control_request` `interrupt`; after an interrupted turn the agent waits (stdin open, its
clocks stopped) for the next message. When a turn ends otherwise, stdin is closed and the
CLI exits.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from ..core.permissions import DECISIONS, HUMANS, Answer, PermissionRequest
from ..core.protocols import AgentEvents, AgentJob
from ..core.redact import mask_text
from .base import clip, relative_path
from .watch import Watch

FILE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
DETAIL_CHARS = 4000


def user_message(text: str) -> bytes:
    message = {
        "type": "user",
        "session_id": "",
        "parent_tool_use_id": None,
        "message": {"role": "user", "content": [{"type": "text", "text": text}]},
    }
    return (json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8")


def describe_request(request: dict[str, Any], workdir: Path) -> PermissionRequest:
    """A `can_use_tool` request as the queue shows it: the command, or the file and what
    would change in it."""
    tool = str(request.get("tool_name") or request.get("display_name") or "tool")
    tool_input = request.get("input") if isinstance(request.get("input"), dict) else {}
    command = tool_input.get("command")
    path = tool_input.get("file_path") or tool_input.get("notebook_path")
    detail = ""
    if isinstance(command, str) and command:
        summary = subject = command
    elif isinstance(path, str) and path:
        summary = subject = relative_path(path, workdir)
        detail = file_detail(tool_input)
    else:
        summary = str(request.get("description") or tool_input.get("description") or "")
        subject = json.dumps(tool_input, sort_keys=True, ensure_ascii=False)
        summary = summary or clip(subject, 200)
    return PermissionRequest(
        tool=tool,
        summary=clip(mask_text(summary), 200),
        detail=mask_text(detail)[:DETAIL_CHARS],
        subject=subject,
        options=DECISIONS,
        raw=request,
    )


def file_detail(tool_input: dict[str, Any]) -> str:
    if isinstance(tool_input.get("content"), str):
        return "\n".join(f"+{line}" for line in tool_input["content"].splitlines())
    edits = tool_input.get("edits") if isinstance(tool_input.get("edits"), list) else [tool_input]
    lines: list[str] = []
    for edit in edits:
        if not isinstance(edit, dict):
            continue
        lines += [f"-{line}" for line in str(edit.get("old_string") or "").splitlines()]
        lines += [f"+{line}" for line in str(edit.get("new_string") or "").splitlines()]
    return "\n".join(lines)


def response(request_id: str, answer: Answer, request: dict[str, Any]) -> dict[str, Any]:
    """The control_response carrying `answer` to the CLI."""
    if answer.decision == "deny":
        body: dict[str, Any] = {"behavior": "deny", "message": answer.message or "denied"}
    else:
        body = {"behavior": "allow", "updatedInput": request.get("input") or {}}
        if answer.decision == "allow_session":
            body["updatedPermissions"] = session_permissions(request)
    return {
        "type": "control_response",
        "response": {"subtype": "success", "request_id": request_id, "response": body},
    }


def session_permissions(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The CLI's suggestions, kept for this session only (never `localSettings`, which
    writes .claude/settings.local.json into the worktree); else the tool itself."""
    suggested = request.get("permission_suggestions")
    suggestions = suggested if isinstance(suggested, list) else []
    kept = [{**s, "destination": "session"} for s in suggestions if isinstance(s, dict)]
    kept = [s for s in kept if s.get("type")]
    if kept:
        return kept
    tool = str(request.get("tool_name") or "")
    rule = {"type": "addRules", "rules": [{"toolName": tool}], "behavior": "allow"}
    return [{**rule, "destination": "session"}]


class Control:
    """One Claude process's side of the queue and its channel (see the module docstring).
    Lines arrive in the supervisor's loop (on the engine thread while it drives it, else on
    the loop's own); answers, `say` and `interrupt` on the engine's."""

    def __init__(self, job: AgentJob, events: AgentEvents) -> None:
        self.job, self.events = job, events
        self.lock = threading.Lock()
        self.watch: Watch | None = None
        self.unsent: list[bytes] = []
        self.waiting: dict[str, str] = {}  # the CLI's request id → ours (P1…)
        self.human_denials: dict[str, str] = {}  # tool_use_id → "Bash (make deploy)"
        self.in_turn = True  # the prompt's turn
        self.interrupted = False
        self.idle = False
        self.ended = False
        self.interrupts = 0

    # ---- stdin ----------------------------------------------------------------------

    def attach(self, watch: Watch) -> None:
        with self.lock:
            self.watch = watch
            unsent, self.unsent = self.unsent, []
        for data in unsent:
            watch.send(data)
        watch.holding = self.holding
        attach = getattr(self.events, "attach", None)
        if attach is not None:
            attach(self)

    def send(self, data: bytes) -> bool:
        with self.lock:
            watch = self.watch
            if watch is None:
                self.unsent.append(data)
                return True
        return watch.send(data)

    def send_json(self, message: dict[str, Any]) -> bool:
        return self.send((json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8"))

    def holding(self) -> bool:
        return bool(self.waiting) or self.idle

    # ---- what the CLI says -------------------------------------------------------------

    def control_request(self, data: dict[str, Any]) -> list[str]:
        request_id = str(data.get("request_id") or "")
        request = data.get("request") if isinstance(data.get("request"), dict) else {}
        if request.get("subtype") != "can_use_tool":
            why = f"orchestrator-tui does not answer {request.get('subtype')!r}"
            self.send_json(
                {
                    "type": "control_response",
                    "response": {"subtype": "error", "request_id": request_id, "error": why},
                }
            )
            return []
        asked = describe_request(request, self.job.workdir)
        ask = getattr(self.events, "ask", None)
        if ask is None:  # a bare run: nobody to ask
            self.send_json(response(request_id, Answer("deny", "no one to ask"), request))
            return [f"? denied (no one to ask): {asked.line}"]
        with self.lock:
            self.waiting[request_id] = ""

        def reply(answer: Answer) -> None:  # the engine's thread, or at once (a rule)
            with self.lock:
                ours = self.waiting.pop(request_id, None)
            if ours is None:
                return  # withdrawn meanwhile
            if answer.decision == "deny" and answer.by in HUMANS:
                tool_use = str(request.get("tool_use_id") or request_id)
                self.human_denials[tool_use] = f"{asked.tool} ({clip(asked.summary, 80)})"
            self.send_json(response(request_id, answer, request))
            said = f"? {ours or 'request'} {answer.decision} by {answer.by}: {asked.line}"
            self.events.output([said])

        ours = ask(asked, reply)
        with self.lock:
            still = request_id in self.waiting
            if still:
                self.waiting[request_id] = ours
        return [f"? {ours} waits for you: {asked.line}"] if still else []

    def cancel_request(self, data: dict[str, Any]) -> list[str]:
        with self.lock:
            ours = self.waiting.pop(str(data.get("request_id") or ""), None)
        if not ours:
            return []
        withdraw = getattr(self.events, "withdraw", None)
        if withdraw is not None:
            withdraw(ours, "the agent withdrew it")
        return [f"? {ours} withdrawn by the agent"]

    def turn_ended(self) -> None:
        """A `result` line: after an interrupt the agent waits for the next message, else
        the task's work is done and stdin closes (the CLI exits)."""
        with self.lock:
            self.in_turn = False
            if self.interrupted:
                self.interrupted, self.idle = False, True
                return
            self.ended = True
            watch = self.watch
        if watch is not None:
            watch.close_stdin()

    def finish(self) -> None:
        with self.lock:
            self.ended = True
            left, self.waiting = dict(self.waiting), {}
        withdraw = getattr(self.events, "withdraw", None)
        for ours in left.values():
            if ours and withdraw is not None:
                withdraw(ours, "the agent ended before an answer")
        detach = getattr(self.events, "detach", None)
        if detach is not None:
            detach(self)

    # ---- the channel (the engine's thread) ---------------------------------------------

    def say(self, text: str) -> str:
        with self.lock:
            if self.ended:
                return "the agent has ended"
            self.in_turn, self.idle = True, False
        return "" if self.send(user_message(text)) else "the agent's stdin is closed"

    def interrupt(self) -> str:
        with self.lock:
            if self.ended or not self.in_turn:
                return "the agent is not in a turn"
            self.interrupted = True
            self.interrupts += 1
            number = self.interrupts
        request = {"subtype": "interrupt"}
        sent = self.send_json(
            {"type": "control_request", "request_id": f"int_{number}", "request": request}
        )
        return "" if sent else "the agent's stdin is closed"
