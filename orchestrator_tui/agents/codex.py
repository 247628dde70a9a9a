"""Codex CLI headless: `codex exec --json --sandbox workspace-write … -- PROMPT`.

JSON lines (docs/agent-clis.md): `thread.started{thread_id}` (the session, for
`codex exec resume ID`), `turn.completed{usage}` (tokens, as increments; Codex reports no
cost), `turn.failed{error}`, `error{message}`, and `item.*` events whose item is an
agent_message, reasoning, command_execution, file_change, mcp_tool_call, todo_list or error.

Success: exit 0 and a `turn.completed`, no `turn.failed`, no command the sandbox declined.
The sandbox follows the profile's permission_mode: bypassPermissions → no sandbox, plan →
read-only, anything else → workspace-write (edits in the working directory only).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.protocols import AgentEvents, AgentJob
from .base import CliBackend, OutputParser, clip, prompt_too_long
from .runner import ProcessOutcome, Stream


class CodexParser(OutputParser):
    def __init__(self, job: AgentJob, events: AgentEvents) -> None:
        super().__init__(job, events)
        self.turn_completed = False
        self.turn_failed = ""

    def line(self, text: str, stream: Stream) -> Sequence[str]:
        data = self.json_event(text) if stream == "stdout" else None
        if data is None:
            return super().line(text, stream)
        kind = data["type"]
        if kind == "thread.started":
            self.session_id = str(data.get("thread_id") or "")
            return [f"● codex · thread {self.session_id}"]
        if kind == "turn.completed":
            self.turn_completed = True
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            used_in = int(usage.get("input_tokens") or 0)
            used_out = int(usage.get("output_tokens") or 0)
            self.events.usage(used_in, used_out, 0.0)
            return [f"■ turn done · {used_in:,} in / {used_out:,} out tokens"]
        if kind == "turn.failed":
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            self.turn_failed = str(error.get("message") or "turn failed")
            return [f"✗ {clip(self.turn_failed, 300)}"]
        if kind == "error":
            self.errors.append(str(data.get("message") or "error"))
            return [f"✗ {clip(self.errors[-1], 300)}"]
        if kind.startswith("item."):
            item = data.get("item")
            return self.item(kind, item) if isinstance(item, dict) else []
        return []

    def item(self, kind: str, item: dict[str, Any]) -> list[str]:
        item_type = item.get("type")
        done = kind == "item.completed"
        if item_type == "agent_message" and done:
            self.final_text = str(item.get("text") or "")
            return [line for line in self.final_text.splitlines() if line.strip()]
        if item_type == "reasoning" and done:
            return [f"… {clip(str(item.get('text') or ''), 200)}"]
        if item_type == "command_execution":
            return self.command(kind, item)
        if item_type == "file_change" and done:
            return self.file_change(item)
        if item_type == "mcp_tool_call" and kind == "item.started":
            return [f"▸ {item.get('server', 'mcp')}.{item.get('tool', 'tool')}"]
        if item_type == "error" and done:
            return [f"✗ {clip(str(item.get('message') or ''), 300)}"]
        return []

    def command(self, kind: str, item: dict[str, Any]) -> list[str]:
        command = str(item.get("command") or "")
        if kind == "item.started":
            return [f"▸ $ {clip(command, 200)}"]
        status = item.get("status")
        if kind != "item.completed":
            return []
        if status == "declined":
            self.denials.append(f"command `{clip(command, 80)}`")
            return [f"  ✗ declined by the sandbox: {clip(command, 200)}"]
        if status == "failed" or item.get("exit_code") not in (0, None):
            return [f"  ✗ exit {item.get('exit_code')}: {clip(command, 200)}"]
        return []

    def file_change(self, item: dict[str, Any]) -> list[str]:
        shown = []
        changes = item.get("changes") if isinstance(item.get("changes"), list) else []
        for change in changes:
            if not isinstance(change, dict):
                continue
            path = str(change.get("path") or "")
            if item.get("status") == "completed":
                self.add_file(path)
            shown.append(f"▸ {change.get('kind', 'edit')} {self.files[-1] if self.files else path}")
        if item.get("status") not in (None, "completed"):
            shown.append(f"  ✗ file change {item.get('status')}")
        return shown

    def verdict(self, outcome: ProcessOutcome) -> str:
        if self.turn_failed:
            return f"agent reported error: {clip(self.turn_failed)}"
        if self.denials:
            return "permission denied: " + ", ".join(dict.fromkeys(self.denials))
        if outcome.exit_code:
            return super().verdict(outcome)
        if not self.turn_completed:
            if self.errors:
                return f"agent reported error: {clip(self.errors[-1])}"
            return "no result: codex ended without turn.completed"
        return ""


class CodexBackend(CliBackend):
    default_executable = "codex"

    def argv(self, job: AgentJob) -> list[str]:
        profile = self.profile
        argv = [self.executable, "exec", "--json", "--skip-git-repo-check"]
        if profile.permission_mode == "bypassPermissions":
            argv.append("--dangerously-bypass-approvals-and-sandbox")
        elif profile.permission_mode == "plan":
            argv += ["--sandbox", "read-only"]
        else:
            argv += ["--sandbox", "workspace-write"]
        if profile.model:
            argv += ["--model", profile.model]
        argv += profile.args
        if job.resume_session:
            argv += ["resume", job.resume_session]
        # codex reads the prompt from stdin when it is "-" (or absent).
        argv += ["-"] if prompt_too_long(job.prompt) else ["--", job.prompt]
        return argv

    def stdin_path(self, job: AgentJob) -> Path | None:
        return job.prompt_file if prompt_too_long(job.prompt) else None

    def parser(self, job: AgentJob, events: AgentEvents) -> OutputParser:
        return CodexParser(job, events)
