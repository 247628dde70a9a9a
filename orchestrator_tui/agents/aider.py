"""aider one-shot: `aider --message-file PROMPT_FILE --yes-always --no-auto-commits …`.

aider prints plain text only (docs/agent-clis.md). What the parser takes from it:
"Tokens: 2.4k sent, 60 received. Cost: $0.0081 message, $0.0081 session." (usage, reported
per message as increments), "Applied edit to <file>" (files), and error lines — aider exits
0 even when the model API fails, so a line such as "litellm.BadRequestError: …" is how an
error shows. A run that printed no "Tokens:" line got no answer from the model: no result.
Commits are left to the orchestrator (--no-auto-commits); `--yes-always` never approves
shell commands, so a proposed command is only shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..core.protocols import AgentEvents, AgentJob
from .base import CliBackend, OutputParser, clip
from .runner import ProcessOutcome, Stream

TOKENS = re.compile(
    r"^Tokens: ([\d.,]+)([kKmM]?) sent(?:, [^,]*cache[^,]*)*, ([\d.,]+)([kKmM]?) received\."
    r"(?: Cost: \$([\d.]+) message)?"
)
APPLIED = re.compile(r"^Applied edit to (.+?)\s*$")
ERROR = re.compile(
    r"^(?:litellm\.\w*(?:Error|Exception)\b.*|\w*APIError\b.*|Only \d+ reflections allowed.*)"
)
ANNOUNCEMENT = ("Aider v", "Main model:", "Weak model:", "Model:", "Git repo:", "Repo-map:")
SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


def token_count(number: str, suffix: str) -> int:
    return int(float(number.replace(",", "")) * SCALE[suffix.lower()])


class AiderParser(OutputParser):
    def __init__(self, job: AgentJob, events: AgentEvents) -> None:
        super().__init__(job, events)
        self.answered = False
        self.reply: list[str] = []

    def line(self, text: str, stream: Stream) -> Sequence[str]:
        stripped = text.strip()
        usage = TOKENS.match(stripped)
        if usage:
            self.answered = True
            sent = token_count(usage.group(1), usage.group(2))
            received = token_count(usage.group(3), usage.group(4))
            self.events.usage(sent, received, float(usage.group(5) or 0.0))
        applied = APPLIED.match(stripped)
        if applied:
            self.add_file(str(Path(self.job.workdir) / applied.group(1)))
        if stream == "stdout" and ERROR.match(stripped):
            self.errors.append(stripped)
        if stream == "stdout" and stripped and not usage and not stripped.startswith(ANNOUNCEMENT):
            self.reply = [*self.reply[-19:], stripped]
        return super().line(text, stream)

    def finish(self) -> None:
        self.final_text = "\n".join(self.reply)

    def verdict(self, outcome: ProcessOutcome) -> str:
        if self.errors:
            return f"agent reported error: {clip(self.errors[-1])}"
        if outcome.exit_code:
            return super().verdict(outcome)
        if not self.answered:
            return "no result: aider printed no token usage (the model did not answer)"
        return ""


class AiderBackend(CliBackend):
    default_executable = "aider"

    def argv(self, job: AgentJob) -> list[str]:
        profile = self.profile
        argv = [
            self.executable,
            "--message-file",
            str(job.prompt_file),
            "--yes-always",
            "--no-auto-commits",
            "--no-stream",
            "--no-pretty",
            "--no-check-update",
            "--no-show-model-warnings",
        ]
        if profile.model:
            argv += ["--model", profile.model]
        argv += profile.args
        # The task's declared files that exist go into the chat, so aider may edit them.
        files = [
            f for f in job.task.files if not set("*?[") & set(f) and (job.workdir / f).is_file()
        ]
        return [*argv, "--", *files] if files else argv

    def parser(self, job: AgentJob, events: AgentEvents) -> OutputParser:
        return AiderParser(job, events)
