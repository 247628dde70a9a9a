"""Gemini CLI headless: `gemini --prompt=PROMPT --output-format stream-json --approval-mode M`.

JSON lines (docs/agent-clis.md), each with `type`: `init{session_id, model}`,
`message{role, content, delta?}` (assistant text arrives in pieces, joined here into lines),
`tool_use{tool_name, tool_id, parameters}`, `tool_result{tool_id, status, output?, error?}`,
`error{severity, message}`, `result{status, error?, stats{input_tokens, output_tokens, …}}`.
Exit codes: 0 ok, 1 error (an API error is only a line on stderr), 42 input error, 53 turn
limit. Gemini reports tokens, not cost.

The default approval mode waits for a human forever, so it is never used: the profile's
permission_mode bypassPermissions → yolo, anything else → auto_edit (edits without asking;
shell commands refused, which counts as a permission denial like Claude's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..core.protocols import AgentEvents, AgentJob
from .base import CliBackend, OutputParser, clip, prompt_too_long, relative_path
from .runner import ProcessOutcome, Stream

FILE_TOOLS = ("write_file", "replace", "edit")
DENIED = ("execution_denied", "permission_denied", "tool_not_allowed")
EXIT_MEANINGS = {42: "input error", 53: "turn limit reached"}


class GeminiParser(OutputParser):
    def __init__(self, job: AgentJob, events: AgentEvents) -> None:
        super().__init__(job, events)
        self.result_line: dict[str, Any] | None = None
        self.text = ""
        self.tools: dict[str, tuple[str, dict[str, Any]]] = {}

    def line(self, text: str, stream: Stream) -> Sequence[str]:
        stripped = text.strip()
        if stream == "stderr":
            if "API Error" in text:
                self.errors.append(stripped.strip("[]"))
            return super().line(text, stream)
        data = self.json_event(text)
        if data is None:
            return [*self.flush_text(), *super().line(text, stream)]
        kind = data["type"]
        if kind == "message":
            return self.message(data)
        shown = self.flush_text()
        if kind == "init":
            self.session_id = str(data.get("session_id") or "")
            shown.append(f"● gemini {data.get('model', '')} · session {self.session_id}")
        elif kind == "tool_use":
            shown.append(self.tool_use(data))
        elif kind == "tool_result":
            shown += self.tool_result(data)
        elif kind == "error":
            message = str(data.get("message") or "error")
            if data.get("severity", "error") == "error":
                self.errors.append(message)
            shown.append(f"✗ {clip(message, 300)}")
        elif kind == "result":
            shown += self.result_event(data)
        return shown

    def message(self, data: dict[str, Any]) -> list[str]:
        if data.get("role") != "assistant":
            return []  # the prompt, echoed back
        content = str(data.get("content") or "")
        self.final_text = self.final_text + content if data.get("delta") else content
        self.text += content if data.get("delta") else content + "\n"
        lines = self.text.split("\n")
        self.text = lines.pop()
        return [line for line in lines if line.strip()]

    def flush_text(self) -> list[str]:
        text, self.text = self.text, ""
        return [text] if text.strip() else []

    def tool_use(self, data: dict[str, Any]) -> str:
        name = str(data.get("tool_name") or "tool")
        params = data.get("parameters") if isinstance(data.get("parameters"), dict) else {}
        self.tools[str(data.get("tool_id"))] = (name, params)
        self.final_text = ""  # the answer is what it says after its last tool call
        path = params.get("file_path") or params.get("absolute_path") or params.get("dir_path")
        if isinstance(path, str) and path:
            return f"▸ {name} {relative_path(path, self.job.workdir)}"
        command = params.get("command")
        if isinstance(command, str) and command:
            return f"▸ {name}: {clip(command, 200)}"
        return f"▸ {name}"

    def tool_result(self, data: dict[str, Any]) -> list[str]:
        name, params = self.tools.pop(str(data.get("tool_id")), ("tool", {}))
        if data.get("status") == "success":
            path = params.get("file_path")
            if name in FILE_TOOLS and isinstance(path, str):
                self.add_file(path)
            return []
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        message = str(error.get("message") or data.get("output") or "failed")
        if error.get("type") in DENIED:
            command = params.get("command")
            self.denials.append(f"{name} ({clip(command, 80)})" if command else name)
        return [f"  ✗ {clip(message, 200)}"]

    def result_event(self, data: dict[str, Any]) -> list[str]:
        self.result_line = data
        stats = data.get("stats") if isinstance(data.get("stats"), dict) else {}
        used_in = int(stats.get("input_tokens") or 0)
        used_out = int(stats.get("output_tokens") or 0)
        self.events.usage(used_in, used_out, 0.0)
        if data.get("status") not in (None, "success"):
            error = data.get("error")
            message = error.get("message") if isinstance(error, dict) else error
            self.errors.append(str(message or data.get("status")))
        seconds = float(stats.get("duration_ms") or 0) / 1000
        return [f"■ {data.get('status')} · {used_in:,} in / {used_out:,} out · {seconds:.1f} s"]

    def finish(self) -> None:
        rest = self.flush_text()
        if rest:
            self.events.output(rest)

    def verdict(self, outcome: ProcessOutcome) -> str:
        code = outcome.exit_code
        if self.errors:
            return f"agent reported error: {clip(self.errors[-1])}"
        if code in EXIT_MEANINGS:
            return f"{EXIT_MEANINGS[code]} (exit {code})"
        if code:
            return super().verdict(outcome)
        if self.denials:
            return "permission denied: " + ", ".join(dict.fromkeys(self.denials))
        if self.result_line is None:
            return "no result: gemini ended without a result event"
        return ""


class GeminiBackend(CliBackend):
    default_executable = "gemini"

    def argv(self, job: AgentJob) -> list[str]:
        profile = self.profile
        mode = "yolo" if profile.permission_mode == "bypassPermissions" else "auto_edit"
        prompt = job.prompt
        if prompt_too_long(prompt):
            prompt = "Follow the instructions given on stdin."
        argv = [self.executable, f"--prompt={prompt}", "--output-format", "stream-json"]
        argv += ["--approval-mode", mode]
        if profile.model:
            argv += ["--model", profile.model]
        if job.resume_session:
            argv += ["--resume", job.resume_session]
        return argv + profile.args

    def stdin_path(self, job: AgentJob) -> Path | None:
        return job.prompt_file if prompt_too_long(job.prompt) else None

    def parser(self, job: AgentJob, events: AgentEvents) -> OutputParser:
        return GeminiParser(job, events)
