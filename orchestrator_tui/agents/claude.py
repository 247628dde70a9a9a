"""Claude Code headless: `claude -p --input-format stream-json --output-format stream-json
--verbose --permission-prompt-tool stdio`, the prompt on stdin (claude_control.py: the
permission queue, messages and interrupts over the CLI's control protocol).

Every stdout line is one JSON object (facts in docs/agent-clis.md): `system`/`init` gives the
session id; `assistant` lines carry text and tool_use blocks (shown as "▸ Write src/x.py",
"▸ Bash: pytest -q"); `user` lines carry tool results; the last line, `result`, gives the
outcome, the usage and the cost. Lines that are not JSON are kept as text.

Success needs exit 0, `is_error` false and no `permission_denials`. An API error exits 1
with `subtype: success` and `is_error: true`; `error_max_turns` means --max-turns was hit.

Usage is reported as increments: each assistant message's tokens when the next one starts
(so a task budget can stop a long run), then at each result line whatever that turn's
`usage` adds to them, and what `total_cost_usd` — the session's running total, not the
turn's — adds to the cost reported before (an interrupted turn and the next message's
turn give two results). Input tokens count cache reads and writes too: they are tokens the
model read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.protocols import AgentEvents, AgentJob, AgentResult
from .base import CliBackend, OutputParser, clip, relative_path
from .claude_control import Control, user_message
from .runner import ProcessOutcome, ProcessSpec, Stream
from .watch import Watch

FILE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")


def input_tokens(usage: dict[str, Any]) -> int:
    return sum(
        int(usage.get(key) or 0)
        for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )


def tool_summary(name: str, tool_input: dict[str, Any], workdir: Path) -> str:
    """One compact line for a tool call: the file, the command or the pattern it works on."""
    path = tool_input.get("file_path") or tool_input.get("notebook_path")
    if isinstance(path, str) and path:
        return f"▸ {name} {relative_path(path, workdir)}"
    for key, sep in (("command", ": "), ("pattern", " "), ("url", " "), ("query", " ")):
        value = tool_input.get(key)
        if isinstance(value, str) and value:
            return f"▸ {name}{sep}{clip(value, 200)}"
    described = tool_input.get("description")
    if isinstance(described, str) and described:
        return f"▸ {name}: {clip(described, 200)}"
    return f"▸ {name}"


class ClaudeParser(OutputParser):
    def __init__(self, job: AgentJob, events: AgentEvents) -> None:
        super().__init__(job, events)
        self.result_line: dict[str, Any] | None = None
        self.message_id = ""
        self.message_usage: dict[str, Any] = {}
        self.turn_in = 0  # tokens reported for the current turn (a `result` ends it)
        self.turn_out = 0
        self.reported_cost = 0.0  # of the session's running total_cost_usd
        self.pending_files: dict[str, str] = {}
        self.control = Control(job, events)
        self.control.send(user_message(job.prompt))

    # ---- lines --------------------------------------------------------------------

    def line(self, text: str, stream: Stream) -> Sequence[str]:
        data = self.json_event(text) if stream == "stdout" else None
        if data is None:
            return super().line(text, stream)
        kind = data["type"]
        if kind == "system":
            return self.system(data)
        if kind == "assistant":
            return self.assistant(data)
        if kind == "user":
            return self.tool_results(data)
        if kind == "result":
            return self.result_event(data)
        if kind == "control_request":
            return self.control.control_request(data)
        if kind == "control_cancel_request":
            return self.control.cancel_request(data)
        return []  # newer line types: in the log file, not on screen

    def system(self, data: dict[str, Any]) -> list[str]:
        if data.get("subtype") == "init":
            self.session_id = str(data.get("session_id") or self.session_id)
            mode = data.get("permissionMode", "")
            return [f"● claude {data.get('model', '')} · session {self.session_id} · {mode}"]
        if data.get("subtype") == "api_retry":
            return [
                f"… API retry {data.get('attempt')}/{data.get('max_retries')} "
                f"after error {data.get('error_status')}"
            ]
        return []

    def assistant(self, data: dict[str, Any]) -> list[str]:
        message = data.get("message")
        if not isinstance(message, dict):
            return []
        self.track_usage(str(message.get("id") or ""), message.get("usage"))
        shown: list[str] = []
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and block.get("text"):
                shown += [line for line in str(block["text"]).splitlines() if line.strip()]
            elif block.get("type") == "tool_use":
                name = str(block.get("name") or "tool")
                tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
                shown.append(tool_summary(name, tool_input, self.job.workdir))
                path = tool_input.get("file_path") or tool_input.get("notebook_path")
                if name in FILE_TOOLS and isinstance(path, str):
                    self.pending_files[str(block.get("id"))] = path
        return shown

    def tool_results(self, data: dict[str, Any]) -> list[str]:
        message = data.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        shown = []
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            path = self.pending_files.pop(str(block.get("tool_use_id")), "")
            if block.get("is_error"):
                shown.append(f"  ✗ {clip(result_text(block.get('content')), 200)}")
            elif path:
                self.add_file(path)
        return shown

    def result_event(self, data: dict[str, Any]) -> list[str]:
        self.result_line = data
        self.session_id = str(data.get("session_id") or self.session_id)
        self.final_text = str(data.get("result") or "")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        total_in, total_out = input_tokens(usage), int(usage.get("output_tokens") or 0)
        self.commit_message_usage()
        # `usage` is this turn's; `total_cost_usd` the session's running total (after an
        # interrupt and a new message a second `result` comes: its cost includes the first's)
        cost = float(data.get("total_cost_usd") or 0.0)
        more_in = max(0, total_in - self.turn_in)
        more_out = max(0, total_out - self.turn_out)
        more_cost = max(0.0, cost - self.reported_cost)
        if more_in or more_out or more_cost:
            self.events.usage(more_in, more_out, more_cost)
        self.reported_cost = max(self.reported_cost, cost)
        self.turn_in = self.turn_out = 0
        turns = data.get("num_turns")
        seconds = float(data.get("duration_ms") or 0) / 1000
        state = "error" if data.get("is_error") else data.get("subtype", "done")
        self.control.turn_ended()
        return [f"■ {state} · {turns} turns · {seconds:.1f} s · ${cost:.4f}"]

    # ---- usage --------------------------------------------------------------------

    def track_usage(self, message_id: str, usage: Any) -> None:
        """A message's usage counts once, when the next message starts (its last line
        carries its final numbers)."""
        if message_id != self.message_id:
            self.commit_message_usage()
            self.message_id = message_id
        if isinstance(usage, dict):
            self.message_usage = usage

    def commit_message_usage(self) -> None:
        if not self.message_usage:
            return
        used_in = input_tokens(self.message_usage)
        used_out = int(self.message_usage.get("output_tokens") or 0)
        self.message_usage = {}
        if used_in or used_out:
            self.turn_in += used_in
            self.turn_out += used_out
            self.events.usage(used_in, used_out, 0.0)

    def finish(self) -> None:
        self.control.finish()
        if self.result_line is None:
            self.commit_message_usage()

    def result(self, outcome: ProcessOutcome) -> AgentResult:
        result = super().result(outcome)
        said_no = list(dict.fromkeys(self.control.human_denials.values()))
        if result.ok and said_no:  # a person's no is not the agent's failure
            return replace(result, reason="denied by the user: " + ", ".join(said_no))
        return result

    # ---- the verdict ------------------------------------------------------------------

    def verdict(self, outcome: ProcessOutcome) -> str:
        data = self.result_line
        if data is None:
            if outcome.exit_code == 0:
                return "no result: claude exited 0 without a result line"
            return super().verdict(outcome)
        if data.get("subtype") == "error_max_turns":
            return f"max turns reached ({data.get('num_turns')} turns)"
        if data.get("is_error"):
            return self.error_reason(data)
        humans = self.control.human_denials
        denials = [
            d
            for d in data.get("permission_denials") or []
            if not (isinstance(d, dict) and str(d.get("tool_use_id")) in humans)
        ]
        if denials:
            return "permission denied: " + ", ".join(dict.fromkeys(map(denial_text, denials)))
        if outcome.exit_code:
            return super().verdict(outcome)
        return ""

    @staticmethod
    def error_reason(data: dict[str, Any]) -> str:
        text = str(data.get("result") or "")
        errors = data.get("errors")
        if not text and isinstance(errors, list) and errors:
            text = str(errors[-1])
        status = data.get("api_error_status")
        if status:
            detail = text.removeprefix("API Error:").strip().removeprefix(str(status)).strip()
            return f"agent reported error: API error {status}: {clip(detail, 240)}"
        subtype = data.get("subtype", "error")
        return f"agent reported error: {clip(text, 240) or subtype}"


def denial_text(denial: Any) -> str:
    if not isinstance(denial, dict):
        return str(denial)
    name = str(denial.get("tool_name") or "a tool")
    tool_input = denial.get("tool_input") if isinstance(denial.get("tool_input"), dict) else {}
    detail = tool_input.get("command") or tool_input.get("file_path")
    return f"{name} ({clip(str(detail), 80)})" if detail else name


def result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        ).strip()
    return str(content or "")


class ClaudeBackend(CliBackend):
    default_executable = "claude"

    def argv(self, job: AgentJob) -> list[str]:
        profile = self.profile
        argv = [self.executable, "-p", "--input-format", "stream-json"]
        argv += ["--output-format", "stream-json", "--verbose"]
        argv += ["--permission-prompt-tool", "stdio"]  # its requests come to the queue
        if profile.model:
            argv += ["--model", profile.model]
        if profile.permission_mode:
            argv += ["--permission-mode", profile.permission_mode]
        if profile.max_turns:
            argv += ["--max-turns", str(profile.max_turns)]
        if profile.append_system_prompt:
            argv += ["--append-system-prompt", profile.append_system_prompt]
        if job.resume_session:
            argv += ["--resume", job.resume_session]
        argv += profile.args
        if profile.allowed_tools:  # variadic: last, so it cannot swallow anything
            argv += ["--allowedTools", *profile.allowed_tools]
        return argv

    def spec(self, job: AgentJob) -> ProcessSpec:
        """stdin stays open: the prompt, answers and messages go there (claude_control)."""
        return replace(super().spec(job), stdin_pipe=True, stdin_path=None)

    def parser(self, job: AgentJob, events: AgentEvents) -> OutputParser:
        return ClaudeParser(job, events)

    def started(self, watch: Watch, parser: OutputParser) -> None:
        if isinstance(parser, ClaudeParser):
            parser.control.attach(watch)
