"""Any program as an agent: an argv template from the profile, no shell involved.

    [agents.mytool]
    backend = "command"
    command = ["my-agent", "--task", "{task_id}", "--prompt", "{prompt_file}", "--cd", "{workdir}"]

`{prompt_file}`, `{workdir}`, `{task_id}` and `{run_id}` are replaced inside each argument
(plain text replacement: other braces stay as they are, and no value is ever split or
interpreted). The program runs in the task's working directory with ORCH_TASK_ID,
ORCH_RUN_ID, ORCH_PROMPT_FILE and ORCH_WORKDIR in its environment; exit 0 means success.
"""

from __future__ import annotations

import os

from ..core.config import AgentProfile
from ..core.protocols import AgentJob
from .base import CliBackend


class CommandBackend(CliBackend):
    def __init__(self, profile_name: str, profile: AgentProfile) -> None:
        if not profile.command:
            raise ValueError(
                f"profile {profile_name!r}: the command backend needs `command`, "
                'e.g. command = ["my-agent", "{prompt_file}"]'
            )
        super().__init__(profile_name, profile)

    @property
    def executable(self) -> str:
        return self.profile.executable or self.profile.command[0]

    def argv(self, job: AgentJob) -> list[str]:
        values = {
            "{prompt_file}": os.fspath(job.prompt_file),
            "{workdir}": os.fspath(job.workdir),
            "{task_id}": job.task.id,
            "{run_id}": job.run_id,
        }
        argv = []
        for argument in [*self.profile.command, *self.profile.args]:
            for placeholder, value in values.items():
                argument = argument.replace(placeholder, value)
            argv.append(argument)
        if self.profile.executable:
            argv[0] = self.profile.executable
        return argv
