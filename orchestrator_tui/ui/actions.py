"""The app's actions (keys, buttons, the command palette): each one either opens a dialog
or sends a command to the engine's inbox with `engine.submit(..., by="app")`.

A mixin of OrchestratorApp, kept apart so the app module stays about events and drawing.
The actions know the app only as `AppHost` (ui/host.py), what they read and call on it:
the app imports its actions, never the other way round.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from ..core.models import StageName, TaskStatus
from ..core.state import TaskState
from ..core.takeover import shell_line, tmux_window
from .evidence import gate_markdown
from .host import AppHost
from .screens.approval import ApprovalScreen
from .screens.feedback import FeedbackScreen
from .screens.help import HelpScreen
from .screens.quit_confirm import QuitScreen
from .screens.runs_list import RunsScreen
from .screens.task_detail import TaskDetailScreen, TaskFiles
from .view import running_tasks

RETRYABLE = (TaskStatus.FAILED, TaskStatus.BLOCKED, TaskStatus.CONFLICT)
TAKE_WAIT = 45.0  # seconds a take waits for the agent to stop


def open_takeover(task_id: str, task: TaskState) -> str:
    """A new tmux window with the resumed session when we run inside tmux; what to tell."""
    takeover = task.takeover
    argv, env = (takeover.command, takeover.env) if takeover else ((), {})
    line = shell_line(task.workdir, argv, env)
    note = f" ({takeover.note})" if takeover and takeover.note else ""
    then = f"press t again (or `orchestrator-tui done {task_id}`) when you have finished"
    if os.environ.get("TMUX") and shutil.which("tmux"):
        window = tmux_window(task.workdir, argv, env, f"take-{task_id}")
        try:
            done = subprocess.run(window, capture_output=True, timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            done = None
        if done is not None and done.returncode == 0:
            return f"{task_id} is yours in tmux window take-{task_id}{note}; {then}."
    return f"{task_id} is yours{note}. Run: {line} — then {then}."


class RunActions:
    """Mixed into OrchestratorApp; `self` is the app, seen as an AppHost."""

    def submit(self: AppHost, action: str, task: str = "", feedback: str = "") -> None:
        if self.engine_thread is not None and not self.engine_thread.alive:
            self.say("The engine has stopped: nothing takes commands now.", severity="error")
            return
        try:
            self.handle.submit(action, task, feedback, by="app")
        except OSError as exc:
            self.say(f"could not send {action}: {exc}", severity="error")

    def open_gate(self: AppHost) -> None:
        gate = self.state.gate
        if gate is None or self.gate_screen is not None:
            return
        screen = ApprovalScreen(gate.stage, gate_markdown(self.state, gate.stage), gate.failed)
        self.gate_screen = screen
        self.gate_unseen = False
        self.push_screen(screen, self.gate_decided)

    def gate_decided(self: AppHost, decision: str | None) -> None:
        self.gate_screen = None
        if decision == "reject":
            self.ask_feedback()
        elif decision:
            self.submit(decision)

    def ask_feedback(self: AppHost) -> None:
        gate = self.state.gate
        if gate is None:
            self.say("Nothing waits for approval.", severity="warning")
            return
        stage: StageName = gate.stage

        def send(text: str | None) -> None:
            if text:
                self.submit("reject", feedback=text)

        self.push_screen(
            FeedbackScreen(
                f"stage {stage.number} · {stage.title}", self.cursor_blink, gate.reject_hint
            ),
            send,
        )

    def action_approve(self: AppHost) -> None:
        if self.state.gate is None:
            self.say("Nothing waits for approval.", severity="warning")
            return
        self.open_gate()

    def action_reject(self: AppHost) -> None:
        self.ask_feedback()

    def action_pause(self: AppHost) -> None:
        self.submit("resume" if self.state.paused else "pause")

    def action_retry(self: AppHost) -> None:
        task_id = self.selected_task
        task = self.state.tasks.get(task_id or "")
        gate = self.state.gate
        if task is not None and task.status in RETRYABLE:
            self.submit("retry", task=task.id)
        elif gate is not None and gate.failed:
            self.submit("retry")
        elif task_id:
            self.submit("retry", task=task_id)  # the engine says why it cannot
        else:
            self.say("Select a failed task first.", severity="warning")

    def action_skip(self: AppHost) -> None:
        task_id = self.selected_task
        if not task_id:
            self.say("Select a task first.", severity="warning")
            return
        self.submit("skip", task=task_id)

    def action_take_over(self: AppHost) -> None:
        """`t`: take the selected running task over (core/takeover.py) — its agent stops and
        its session opens in a tmux window (else the command is shown); on a task taken
        over already, `t` means done: commit and merge the worktree."""
        task_id = self.selected_task
        task = self.state.tasks.get(task_id or "")
        if task is None:
            self.say("Select a running task first.", severity="warning")
            return
        if task.status == TaskStatus.TAKEN_OVER:
            self.submit("done", task=task.id)
            return
        self.submit("take", task=task.id)  # a refusal comes back with the engine's reason
        deadline = time.monotonic() + TAKE_WAIT

        def opened() -> None:
            current = self.state.tasks.get(task.id)
            if current is not None and current.status == TaskStatus.TAKEN_OVER:
                waiting.stop()
                self.say(open_takeover(task.id, current), timeout=60)
            elif time.monotonic() > deadline or (current and current.status != task.status):
                waiting.stop()

        waiting = self.set_interval(0.2, opened)

    def action_detail(self: AppHost) -> None:
        self.open_detail(self.selected_task, "overview")

    def action_diff(self: AppHost) -> None:
        self.open_detail(self.selected_task, "diff")

    def open_detail(self: AppHost, task_id: str | None, tab: str) -> None:
        task = self.state.tasks.get(task_id or "") or self.plan.preview.get(task_id or "")
        if task is None:
            self.say("Select a task first.", severity="warning")
            return
        files = self.engine.files if self.engine is not None else None
        paths = TaskFiles(
            workspace=self.options.workspace,
            run_id=self.state.run_id,
            prompt=files.prompt(task.id) if files else None,
            log=files.log(task.id) if files else None,
        )
        definition = self.definitions.get(task.id)
        self.push_screen(TaskDetailScreen(task, definition, paths, self.clock(), initial=tab))

    def action_toggle_dag(self: AppHost) -> None:
        self.run_screen.action_toggle_dag()

    def action_toggle_tiles(self: AppHost) -> None:
        self.run_screen.action_toggle_tiles()

    def action_cycle_log(self: AppHost, step: int) -> None:
        tasks = self.state.tasks
        order = [*self.plan.layout.order, *tasks]
        ran = [t for t in order if t in tasks and tasks[t].started_at]
        self.run_screen.logs.cycle(step, ran)

    def action_help(self: AppHost) -> None:
        self.push_screen(HelpScreen())

    def action_past_runs(self: AppHost) -> None:
        """`H`: the workspace's runs; any of them opens read-only, with its timeline."""
        self.push_screen(RunsScreen(self.options.workspace))

    def action_request_quit(self: AppHost) -> None:
        if self.quitting:
            self.exit()  # a second quit while agents stop: leave now, run_app waits for them
            return
        running = running_tasks(self.state)
        if running and self.engine_alive:
            self.push_screen(
                QuitScreen(len(running)), lambda stop: self.stop_and_quit() if stop else None
            )
        else:
            self.stop_and_quit()

    def stop_and_quit(self: AppHost) -> None:
        self.quitting = True
        if self.engine_alive:
            self.handle.stop()
            self.say("Stopping; the run stays resumable…", timeout=30)
        else:
            self.exit()

    @property
    def engine_alive(self: AppHost) -> bool:
        return self.engine_thread is not None and self.engine_thread.alive
