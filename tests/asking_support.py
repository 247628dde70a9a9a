"""An agent that asks: a blocking backend for engine tests of the permission queue.

Each `ASK: Tool summary` line of the task's description becomes a permission request
through the reporter's `ask`, and the agent waits for its answer (or a cancel) before the
next. It takes messages while it runs (`say`, `interrupt`: the queue's Channel). What it
was told is kept in `Asker.log`, one list per task.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from engine_support import Recorder, engine_for, sim_config

from orchestrator_tui.core.permissions import PermissionRequest
from orchestrator_tui.core.protocols import AgentResult


class Asker:
    """The backend factory and its memory (shared by all its runs)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: dict[str, list[str]] = {}
        self.ids: dict[str, list[str]] = {}
        self.hold = threading.Event()  # set: every agent stays until told "done"

    def __call__(self, name, profile):
        return AskingAgent(self)

    def note(self, task: str, text: str) -> None:
        with self.lock:
            self.log.setdefault(task, []).append(text)


class AskingAgent:
    def __init__(self, asker: Asker) -> None:
        self.asker = asker
        self.said: list[str] = []
        self.wake = threading.Event()

    # the Channel
    def say(self, text: str) -> str:
        self.said.append(text)
        self.asker.note(self.task, f"said: {text}")
        self.wake.set()
        return ""

    def interrupt(self) -> str:
        self.asker.note(self.task, "interrupted")
        self.wake.set()
        return ""

    def run(self, job, events, cancel: threading.Event) -> AgentResult:
        self.task = job.task.id
        events.attach(self)
        denied: list[str] = []
        try:
            for line in job.task.description.splitlines():
                if not line.startswith("ASK: "):
                    continue
                tool, _, summary = line[5:].partition(" ")
                request = PermissionRequest(tool=tool, summary=summary, subject=summary)
                answered = threading.Event()
                answers: list = []

                def reply(answer, answers=answers, answered=answered) -> None:
                    answers.append(answer)
                    answered.set()

                request_id = events.ask(request, reply)
                with self.asker.lock:
                    self.asker.ids.setdefault(self.task, []).append(request_id)
                while not answered.wait(0.02):
                    if cancel.is_set():
                        events.withdraw(request_id, "cancelled")
                        return AgentResult(ok=False, reason="cancelled", exit_code=None)
                answer = answers[0]
                self.asker.note(self.task, f"{answer.decision} by {answer.by}: {answer.message}")
                if answer.decision == "deny" and answer.by in ("app", "monitor", "cli"):
                    denied.append(f"{tool} ({summary})")
            while self.asker.hold.is_set() and "done" not in self.said:
                if cancel.is_set():
                    return AgentResult(ok=False, reason="cancelled", exit_code=None)
                self.wake.wait(0.02)
                self.wake.clear()
        finally:
            events.detach(self)
        reason = f"denied by the user: {', '.join(denied)}" if denied else "ok"
        return AgentResult(ok=True, reason=reason)


def ask_plan(*tasks: tuple[str, list[str]]) -> str:
    parts = ["# Plan: Asking\n"]
    for task_id, asks in tasks:
        lines = "\n".join(f"ASK: {a}" for a in asks)
        parts.append(
            f"## {task_id}: Task {task_id}\ndepends: none\nfiles: {task_id}.py\n\n{lines}\n"
        )
    return "\n".join(parts)


def asking_engine(workspace: Path, asker: Asker, recorder: Recorder, **sections):
    config = sim_config(**sections)
    engine = engine_for(workspace, config, recorder, heartbeat=0.2)
    engine.backends = asker
    return engine


def wait_until(test, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached in {timeout} s")
