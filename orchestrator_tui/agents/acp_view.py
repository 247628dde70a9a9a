"""What an ACP agent says, as the lines, usage and files every backend reports.

`session/update` notifications (facts in docs/agent-clis.md, "Agent Client Protocol") become:
- `agent_message_chunk`: text, shown a whole line at a time (chunks are joined until a
  newline, another kind of update or the end of the turn);
- `tool_call` / `tool_call_update`: one "▸ Bash: pytest -q" line per call, once its input
  is known (claude-agent-acp sends the input only in the first update), "  ✗ …" when it
  failed; the files an `edit` call changed (its diff content or locations) count as the
  task's files once it completed;
- `plan`: the entries, when they change ("☐ write tests", "▶ …", "✓ …");
- `usage_update` with a `cost`: the session's cost so far, reported as increments; the
  tokens come from each prompt's result (`usage`, or gemini's `_meta.quota.token_count`).

`describe_permission` and `pick_option` translate `session/request_permission`: options are
chosen by their `kind` (ids differ between agents), never by id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .base import clip, relative_path

SHELL_KINDS = ("execute",)
PLAN_MARKS = {"pending": "☐", "in_progress": "▶", "completed": "✓"}
# the queue's decisions → the ACP option kinds that carry them, best first
KINDS = {
    "allow": ("allow_once", "allow_always"),
    "allow_session": ("allow_once", "allow_always"),
    "deny": ("reject_once", "reject_always"),
}


def dump(model: Any) -> dict[str, Any]:
    """A pydantic model of the acp package (or a plain dict) as the wire's JSON."""
    if isinstance(model, dict):
        return model
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def tool_name(call: dict[str, Any]) -> str:
    """The agent's own tool name when it says it (claude: `_meta.claudeCode.toolName`),
    else the ACP kind ("execute", "edit", …), else "tool"."""
    meta = call.get("_meta")
    if isinstance(meta, dict):
        for value in meta.values():
            if isinstance(value, dict) and isinstance(value.get("toolName"), str):
                return value["toolName"]
    return str(call.get("kind") or "tool")


def call_paths(call: dict[str, Any]) -> list[str]:
    paths = [
        str(item["path"])
        for item in call.get("content") or []
        if isinstance(item, dict) and item.get("type") == "diff" and item.get("path")
    ]
    paths += [
        str(loc["path"])
        for loc in call.get("locations") or []
        if isinstance(loc, dict) and loc.get("path")
    ]
    raw = call.get("rawInput") if isinstance(call.get("rawInput"), dict) else {}
    for key in ("file_path", "path", "absolute_path"):
        if isinstance(raw.get(key), str) and raw[key]:
            paths.append(raw[key])
    return list(dict.fromkeys(paths))


def call_line(call: dict[str, Any], workdir: Path) -> str:
    """ "▸ Bash: pytest -q", "▸ Write src/x.py", "▸ edit: Writing to x.py" """
    name = tool_name(call)
    raw = call.get("rawInput") if isinstance(call.get("rawInput"), dict) else {}
    command = raw.get("command")
    if isinstance(command, str) and command:
        return f"▸ {name}: {clip(command, 200)}"
    paths = call_paths(call)
    if paths and call.get("kind") in ("edit", "read", "delete", "move"):
        return f"▸ {name} {relative_path(paths[0], workdir)}"
    title = str(call.get("title") or "")
    return f"▸ {name}: {clip(title, 200)}" if title and title != name else f"▸ {name}"


def content_text(call: dict[str, Any]) -> str:
    parts = []
    for item in call.get("content") or []:
        inner = item.get("content") if isinstance(item, dict) else None
        if isinstance(inner, dict) and inner.get("type") == "text":
            parts.append(str(inner.get("text") or ""))
    text = " ".join(parts).replace("```", "").strip()
    if not text and isinstance(call.get("rawOutput"), str):
        text = call["rawOutput"]
    return text


class AcpView:
    """One session's updates → display lines (and usage, files, the final text)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.partial = ""
        self.message_id: str | None = None
        self.turn_text: list[str] = []
        self.calls: dict[str, dict[str, Any]] = {}
        self.shown: set[str] = set()
        self.files: list[str] = []
        self.plan: list[tuple[str, str]] = []
        self.cost = 0.0  # the session's cost the agent reported last
        self.cost_reported = 0.0

    # ---- text -------------------------------------------------------------------

    def text(self, chunk: str, message_id: str | None) -> list[str]:
        shown = []
        if message_id != self.message_id:
            shown = self.flush()
            self.turn_text = []  # the final text is the turn's last message
        self.message_id = message_id
        self.turn_text.append(chunk)
        self.partial += chunk
        *complete, self.partial = self.partial.split("\n")
        return shown + [line for line in complete if line.strip()]

    def flush(self) -> list[str]:
        """The text of a message that has not ended its last line yet."""
        rest, self.partial = self.partial, ""
        return [rest] if rest.strip() else []

    def final_text(self) -> str:
        return "".join(self.turn_text).strip()

    # ---- updates ----------------------------------------------------------------

    def update(self, update: dict[str, Any]) -> list[str]:
        kind = update.get("sessionUpdate")
        if kind == "agent_message_chunk":
            content = update.get("content") if isinstance(update.get("content"), dict) else {}
            if content.get("type") == "text":
                return self.text(str(content.get("text") or ""), update.get("messageId"))
            return []
        shown = self.flush()
        if kind in ("tool_call", "tool_call_update"):
            self.turn_text = []  # the final text comes after the last tool call
            shown += self.tool_call(update)
        elif kind == "plan":
            shown += self.plan_update(update.get("entries") or [])
        elif kind == "usage_update":
            cost = update.get("cost")
            if isinstance(cost, dict) and isinstance(cost.get("amount"), int | float):
                self.cost = max(self.cost, float(cost["amount"]))
        return shown

    def tool_call(self, update: dict[str, Any]) -> list[str]:
        call_id = str(update.get("toolCallId") or "")
        call = self.calls.setdefault(call_id, {})
        for key, value in update.items():
            if value not in (None, [], {}) or key not in call:
                call[key] = value
        shown = []
        status = call.get("status")
        known = bool(call.get("rawInput") or call.get("locations"))
        if call_id not in self.shown and (
            known or status in ("in_progress", "completed", "failed")
        ):
            self.shown.add(call_id)
            shown.append(call_line(call, self.workdir))
        if update.get("status") == "failed":
            shown.append(f"  ✗ {clip(content_text(update) or 'failed', 200)}")
        elif update.get("status") == "completed" and call.get("kind") in ("edit", "delete", "move"):
            for path in call_paths(call):
                self.files.append(relative_path(path, self.workdir))
        return shown

    def plan_update(self, entries: list[Any]) -> list[str]:
        plan = [
            (str(e.get("content") or ""), str(e.get("status") or "pending"))
            for e in entries
            if isinstance(e, dict)
        ]
        changed = [entry for entry in plan if entry not in self.plan]
        self.plan = plan
        return [f"{PLAN_MARKS.get(status, '☐')} {clip(text, 200)}" for text, status in changed]

    def cost_increment(self) -> float:
        more = max(0.0, self.cost - self.cost_reported)
        self.cost_reported += more
        return more

    def new_turn(self) -> None:
        self.turn_text = []
        self.message_id = None


def prompt_tokens(result: dict[str, Any]) -> tuple[int, int]:
    """(input, output) tokens of one prompt's result; cache reads and writes count as input."""
    usage = result.get("usage")
    if isinstance(usage, dict):
        used_in = sum(
            int(usage.get(key) or 0)
            for key in ("inputTokens", "cachedReadTokens", "cachedWriteTokens")
        )
        return used_in, int(usage.get("outputTokens") or 0)
    meta = result.get("_meta")
    quota = meta.get("quota") if isinstance(meta, dict) else None
    count = quota.get("token_count") if isinstance(quota, dict) else None
    if isinstance(count, dict):  # gemini --acp
        return int(count.get("input_tokens") or 0), int(count.get("output_tokens") or 0)
    return 0, 0


# ---- permission requests ----------------------------------------------------------------


def describe_permission(
    call: dict[str, Any], options: list[dict[str, Any]], workdir: Path
) -> dict[str, Any]:
    """The fields of a queue request (core/permissions.PermissionRequest) for one
    `session/request_permission`: tool, one line, a detail (a diff), the rule subject, and
    the decisions its options allow."""
    tool = tool_name(call)
    raw = call.get("rawInput") if isinstance(call.get("rawInput"), dict) else {}
    command = raw.get("command")
    paths = call_paths(call)
    detail = ""
    if isinstance(command, str) and command:
        subject = summary = command
    elif paths:
        subject = summary = relative_path(paths[0], workdir)
        for item in call.get("content") or []:
            if isinstance(item, dict) and item.get("type") == "diff":
                old = str(item.get("oldText") or "").splitlines()
                new = str(item.get("newText") or "").splitlines()
                detail = "\n".join([*(f"-{x}" for x in old), *(f"+{x}" for x in new)])
                break
    else:
        summary = str(call.get("title") or content_text(call) or tool)
        subject = json.dumps(raw, sort_keys=True) if raw else summary
    kinds = {str(o.get("kind")) for o in options}
    decisions = tuple(d for d, wanted in KINDS.items() if kinds & set(wanted))
    return {
        "tool": tool,
        "summary": clip(summary, 200),
        "detail": detail[:4000],
        "subject": subject,
        "options": decisions or ("deny",),
    }


def pick_option(options: list[dict[str, Any]], decision: str) -> str | None:
    """The optionId that carries `decision`, chosen by kind; None: answer "cancelled".

    "Allow for this session" picks allow_once: an adapter's allow_always may write a rule
    into the worktree (claude-agent-acp sends the CLI's localSettings suggestions); the
    backend remembers the session's allowance itself."""
    for kind in KINDS.get(decision, ()):
        for option in options:
            if option.get("kind") == kind and option.get("optionId"):
                return str(option["optionId"])
    return None
