"""'Waiting for you': when a gate waits or a task fails, show a tmux message (when the
engine runs inside tmux) and run the configured notify command."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..core.config import NotifySettings
from ..core.models import StageName


class Notifier:
    """Starts `notify.command` with the workspace, stage and reason in its environment.
    It never blocks the engine and never fails the run."""

    def __init__(
        self, workspace: Path, settings: NotifySettings, on_error: Callable[[str], None]
    ) -> None:
        self.workspace = workspace
        self.settings = settings
        self.on_error = on_error

    def waiting(self, stage: StageName, reason: str, failed: bool) -> None:
        what = "failed" if failed else "waits for approval"
        self.send(stage.value, f"{stage.title} {what}: {reason}")

    def task_failed(self, task_id: str, reason: str) -> None:
        self.send("implement", f"task {task_id} failed: {reason}")

    def send(self, stage: str, reason: str) -> None:
        self.tmux_message(reason)
        if not self.settings.command:
            return
        env = {
            **os.environ,
            "ORCH_WORKSPACE": str(self.workspace),
            "ORCH_STAGE": stage,
            "ORCH_REASON": reason,
        }
        try:
            subprocess.Popen(  # argv from the user's own config, never a shell
                [*self.settings.command, reason],
                env=env,
                cwd=self.workspace,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:  # a missing notifier must not stop the run
            self.on_error(f"notify command failed: {exc.strerror or exc}")

    def tmux_message(self, reason: str) -> None:
        """Inside tmux ($TMUX set), show the reason in the status line of whoever looks at
        the engine's pane. '#' is doubled: tmux would read it as a format."""
        tmux = shutil.which("tmux") if os.environ.get("TMUX") else None
        if tmux is None:
            return
        target = ["-t", os.environ["TMUX_PANE"]] if os.environ.get("TMUX_PANE") else []
        text = "orchestrator-tui: " + reason.replace("#", "##")
        try:
            subprocess.Popen(
                [tmux, "display-message", *target, text],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            self.on_error(f"tmux display-message failed: {exc.strerror or exc}")
