"""The shell backend: the task's `run:` line is the agent.

The line is split with shlex into an argv and run directly — no shell, so `;`, `|`, `$(…)`
and globs in plan text are plain arguments (a relative program such as `.venv/bin/python`
is found as every backend's is: agents/base.py `spec`). A profile with `shell = true` opts
into a real shell (`/bin/sh -c LINE`) for pipelines and redirections. Exit 0 means
success. The task's prompt is in ORCH_PROMPT_FILE for commands that want it.
"""

from __future__ import annotations

import shlex

from ..core.protocols import AgentJob
from .base import CliBackend, JobError


class ShellBackend(CliBackend):
    def argv(self, job: AgentJob) -> list[str]:
        line = (job.task.run or "").strip()
        if not line:
            raise JobError(f"task {job.task.id} has no `run:` line for the shell backend")
        if self.profile.shell:
            return [self.profile.executable or "/bin/sh", "-c", line, *self.profile.args]
        try:
            argv = shlex.split(line)
        except ValueError as exc:
            raise JobError(f"task {job.task.id}: cannot split its `run:` line: {exc}") from None
        return [*argv, *self.profile.args]
