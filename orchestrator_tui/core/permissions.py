"""The permission queue's rules, pure: what a request is, which `[permissions]` rule answers
it without asking, what an answer from a person may do, and when a request is overdue.

A backend turns an agent's request (Claude's `can_use_tool`, ACP's
`session/request_permission`) into a `PermissionRequest`; the engine (engine/asking.py)
records it as `PermissionAsked`, and the first `PermissionAnswered` or
`PermissionWithdrawn` settles it. Rules are written like Claude Code's: `Bash` (any
command), `Bash(pytest:*)` (the command `pytest` or `pytest` followed by arguments),
`Bash(git *)` or `Write(src/**)` (a glob over the command or the file), `*` (any tool).
Deny rules win over allow rules; an allow rule never answers a command that chains or
redirects (`;`, `&&`, `|`, `>`, `$(`…), which a person should read first.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from .models import Frozen

DECISIONS = ("allow", "allow_session", "deny")
HUMANS = ("app", "monitor", "cli")
Status = Literal["waiting", "allowed", "denied", "withdrawn"]
# a command that does more than one thing: an allow rule never answers it
CHAINED = re.compile(r"[;&|<>`\n]|\$\(")
RULE = re.compile(r"^\s*([A-Za-z0-9_.*:-]+)\s*(?:\((.*)\))?\s*$", re.S)


@dataclass(frozen=True)
class PermissionRequest:
    """What an agent asks: the tool, one line (the command, the file), a detail (a diff),
    the subject the rules match (the command or the path), the decisions it allows, and
    the backend's raw request (not recorded)."""

    tool: str
    summary: str
    detail: str = ""
    subject: str = ""
    options: tuple[str, ...] = DECISIONS
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> str:
        return f"{self.tool} {self.summary}".rstrip()


@dataclass(frozen=True)
class Answer:
    """allow | allow_session | deny, the reason given to the agent, and who answered:
    app, monitor, cli (a person), rule, timeout, unattended."""

    decision: str
    message: str = ""
    by: str = ""

    @property
    def human(self) -> bool:
        return self.by in HUMANS


class PermissionState(Frozen):
    """One request of the queue as the fold sees it (RunState.permissions)."""

    id: str
    task: str
    attempt: int = 1
    tool: str = ""
    summary: str = ""
    detail: str = ""
    options: tuple[str, ...] = DECISIONS
    status: Status = "waiting"
    decision: str = ""
    message: str = ""
    by: str = ""
    asked_at: float = 0.0
    answered_at: float = 0.0

    @property
    def waiting(self) -> bool:
        return self.status == "waiting"

    @property
    def line(self) -> str:
        return f"{self.tool} {self.summary}".rstrip()


@dataclass(frozen=True)
class Rule:
    tool: str
    pattern: str | None = None

    def __str__(self) -> str:
        return self.tool if self.pattern is None else f"{self.tool}({self.pattern})"


def parse_rule(text: str) -> Rule:
    """`Bash`, `Bash(pytest:*)`, `Write(src/**)`, `*`. Raises ValueError otherwise."""
    match = RULE.match(text)
    if not match:
        raise ValueError(f"not a rule: {text!r} (write e.g. Bash(pytest:*) or Write(src/**))")
    pattern = match.group(2)
    return Rule(match.group(1), pattern.strip() if pattern is not None else None)


def rule_matches(rule: Rule, tool: str, subject: str) -> bool:
    if rule.tool not in ("*", tool):
        return False
    if rule.pattern is None or rule.pattern in ("", "*"):
        return True
    if rule.pattern.endswith(":*"):  # Claude Code's prefix form
        prefix = rule.pattern[:-2].rstrip()
        return subject == prefix or subject.startswith(prefix + " ")
    return fnmatch.fnmatchcase(subject, rule.pattern)


def rule_answer(allow: list[str], deny: list[str], request: PermissionRequest) -> Answer | None:
    """The answer of the first deny rule, else of the first allow rule that matches; None
    when no rule speaks (a person is asked). Unreadable rules are skipped (config checks)."""
    subject = request.subject or request.summary
    for text in deny:
        rule = safe_rule(text)
        if rule is not None and rule_matches(rule, request.tool, subject):
            return Answer("deny", f"denied by the rule {rule} in [permissions] deny", "rule")
    if request.tool == "Bash" and CHAINED.search(subject):
        return None
    for text in allow:
        rule = safe_rule(text)
        matched = rule is not None and rule_matches(rule, request.tool, subject)
        if matched and "allow" in request.options:
            return Answer("allow", f"allowed by the rule {rule}", "rule")
    return None


def safe_rule(text: str) -> Rule | None:
    try:
        return parse_rule(text)
    except ValueError:
        return None


def unattended_answer(request: PermissionRequest) -> Answer:
    """Headless with --approve all: nobody is there, so no request waits."""
    return Answer(
        "deny",
        "no one is there to answer (headless --approve all); "
        f"a rule in [permissions] allow can allow {request.tool}",
        "unattended",
    )


def timeout_answer(decision: str, seconds: float, message: str) -> Answer:
    why = message or f"nobody answered within {seconds:g} s"
    return Answer(decision, why, "timeout")


def overdue(
    permissions: dict[str, PermissionState], now: float, timeout: float
) -> list[PermissionState]:
    """Waiting requests asked more than `timeout` seconds ago (0: never), oldest first."""
    if timeout <= 0:
        return []
    late = [p for p in permissions.values() if p.waiting and now - p.asked_at >= timeout]
    return sorted(late, key=lambda p: p.asked_at)


def waiting(permissions: dict[str, PermissionState]) -> list[PermissionState]:
    """The queue: what waits for a person, oldest first."""
    return sorted((p for p in permissions.values() if p.waiting), key=order_key)


def order_key(permission: PermissionState) -> tuple[float, int, str]:
    number = permission.id[1:]
    return (permission.asked_at, int(number) if number.isdigit() else 0, permission.id)


def check_answer(
    permissions: dict[str, PermissionState], request_id: str, decision: str
) -> tuple[PermissionState | None, str]:
    """The request a person's answer settles, or why it cannot ("already answered")."""
    permission = permissions.get(request_id)
    if permission is None:
        known = ", ".join(p.id for p in waiting(permissions)) or "none waits"
        return None, f"no permission request {request_id!r} ({known})"
    if permission.status == "withdrawn":
        return None, f"{request_id} was withdrawn: {permission.message or 'the agent went on'}"
    if not permission.waiting:
        return None, f"{request_id} already answered: {permission.decision} by {permission.by}"
    if decision not in permission.options:
        offered = ", ".join(permission.options)
        return None, f"{request_id} cannot be answered {decision} (it offers {offered})"
    return permission, ""


def answered_text(permission: PermissionState, decision: str, by: str) -> str:
    verb = {"allow": "allowed", "allow_session": "allowed for the session", "deny": "denied"}
    return f"{permission.id} {verb.get(decision, decision)} ({permission.task}: {permission.line})"


def next_id(permissions: dict[str, PermissionState]) -> int:
    """The number after the highest P<n> of the run (ids stay unique across a resume)."""
    numbers = [int(p[1:]) for p in permissions if p[1:].isdigit()]
    return max(numbers, default=0) + 1


def fold_permission(
    permissions: dict[str, PermissionState], event: Any
) -> dict[str, PermissionState]:
    """RunState.permissions after a PermissionAsked, PermissionAnswered or
    PermissionWithdrawn (core/state.py's fold calls it). Only a waiting request changes:
    the first answer wins."""
    from . import events as ev

    changed = dict(permissions)
    if isinstance(event, ev.PermissionAsked):
        changed[event.request_id] = PermissionState(
            id=event.request_id,
            task=event.task,
            attempt=event.attempt,
            tool=event.tool,
            summary=event.summary,
            detail=event.detail,
            options=event.options,
            asked_at=event.at,
        )
        return changed
    current = permissions.get(event.request_id)
    if current is None or not current.waiting:
        return permissions
    if isinstance(event, ev.PermissionAnswered):
        status = "denied" if event.decision == "deny" else "allowed"
        update = {"decision": event.decision, "message": event.message, "by": event.by}
    else:
        status, update = "withdrawn", {"message": event.reason}
    changed[event.request_id] = current.model_copy(
        update={"status": status, "answered_at": event.at, **update}
    )
    return changed
