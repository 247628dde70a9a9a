"""The shell backend: the task's `run:` line is the agent.

The line is split with shlex into an argv and run directly — no shell, so `;`, `|`, `$(…)`
and globs in plan text are plain arguments. A program given as a relative path
(`.venv/bin/python`) is the task checkout's file, else the workspace's: a worktree has no
untracked folders such as the project's virtualenv. A profile with `shell = true` opts into a real
shell (`/bin/sh -c LINE`) for pipelines and redirections. Exit 0 means success. The task's
prompt is in ORCH_PROMPT_FILE for commands that want it.
"""

from __future__ import annotations

import shlex

from ..core.protocols import AgentJob
from ..infra.fsutil import program_path
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
        roots = (job.workdir, job.workspace) if job.workspace else (job.workdir,)
        return [program_path(argv[0], *roots), *argv[1:], *self.profile.args]
