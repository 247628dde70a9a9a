"""MonitorApp: the wiring of the side-pane view.

A worker thread follows the run (follower.follow) and posts immutable MonitorSnapshots;
the handlers here own all UI state. Approve and reject go through the engine's inbox,
exactly as `orchestrator-tui approve` does, and the engine's answer (a CommandApplied
event in the log) is shown when it arrives.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message

from ..core import events as ev
from ..infra.session import submit
from .follower import MonitorSnapshot, RunFollower, follow
from .liveness import engine_liveness
from .settle import settled
from .widgets.agent_lines import AgentLines
from .widgets.asking_box import AskingBox
from .widgets.feedback_dialog import FeedbackDialog
from .widgets.gate_box import GateBox
from .widgets.key_bar import KeyBar
from .widgets.message_lines import MessageLines
from .widgets.problem_lines import ProblemLines
from .widgets.run_header import RunHeader
from .widgets.stage_strip import StageStrip
from .widgets.task_counts import TaskCounts

ACTIVITY_SHOWN = 3


@dataclass(frozen=True)
class Activity:
    """A line about what the monitor did or heard; `command_id` marks a line that the
    engine's answer to that command replaces."""

    text: str
    style: str = ""
    command_id: str = ""


class MonitorApp(App[None]):
    """`orchestrator-tui monitor`: a narrow, read-mostly view of a run another process owns."""

    CSS_PATH = "monitor.tcss"
    TITLE = "orchestrator-tui monitor"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("a", "approve", "approve"),
        Binding("r", "reject", "reject"),
        Binding("y", "answer('allow')", "allow"),  # the permission queue's oldest request
        Binding("Y", "answer('allow_session')", "allow for the session"),
        Binding("n", "deny", "deny"),
        Binding("q", "quit", "quit"),
    ]

    class SnapshotReady(Message):
        """The follower thread read something new."""

        def __init__(self, snapshot: MonitorSnapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    def __init__(
        self,
        workspace: Path,
        clock: Callable[[], float] = time.time,
        follow_changes: bool = True,
        tick: float = 1.0,
    ) -> None:
        super().__init__()
        self.workspace = workspace
        self.clock = clock
        self.follow_changes = follow_changes
        self.tick = tick
        self.follower = RunFollower(workspace)
        self.snapshot = MonitorSnapshot(workspace=workspace)
        self.activity: deque[Activity] = deque(maxlen=ACTIVITY_SHOWN)
        self.sent: dict[str, str] = {}
        self.stop_following = threading.Event()

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="body"):
            yield RunHeader(id="header")
            yield StageStrip(id="strip")
            yield GateBox(id="gate")
            yield AskingBox(id="asking")
            yield TaskCounts(id="counts")
            yield AgentLines(id="agents")
            yield ProblemLines(id="problems")
            yield MessageLines(id="messages")
        yield KeyBar(id="keys")

    def on_mount(self) -> None:
        self.show_snapshot(self.follower.poll())  # the picture is there from the first frame
        if self.follow_changes:
            self.run_worker(self.follow_run, thread=True, name="follower")
        self.set_interval(self.tick, self.refresh_view)

    def on_unmount(self) -> None:
        self.stop_following.set()

    def follow_run(self) -> None:
        """In a worker thread: only posts messages."""
        follow(
            self.follower,
            lambda snapshot: self.post_message(self.SnapshotReady(snapshot)),
            self.stop_following,
            self.tick,
        )

    def on_monitor_app_snapshot_ready(self, message: SnapshotReady) -> None:
        self.show_snapshot(message.snapshot)

    # ---- what arrived -------------------------------------------------------------------

    def show_snapshot(self, snapshot: MonitorSnapshot) -> None:
        previous = self.snapshot
        self.snapshot = snapshot
        if previous.run_id and snapshot.run_id != previous.run_id:
            # What we said about the old run (an answer, a refusal) is not news of this one.
            self.activity.clear()
            self.sent.clear()
            self.say(f"following the new run {snapshot.run_id}", "cyan")
        for event in snapshot.new_events:
            self.note_event(event, snapshot.live)
        self.refresh_view()

    def note_event(self, event: ev.EventBase, live: bool) -> None:
        """Answers to our commands; the bell for news that needs a person."""
        if isinstance(event, ev.CommandApplied) and event.command_id in self.sent:
            action = self.sent.pop(event.command_id)
            if event.ok:
                answer = Activity(f"engine: ✓ {event.message or action}", "green")
            else:
                answer = Activity(f"engine refused {action}: {event.message}", "bold red")
            self.answer(event.command_id, answer)
        if not live:
            return
        failed_task = (
            isinstance(event, ev.TaskFinished) and event.status == "failed" and not event.will_retry
        )
        if isinstance(event, ev.GateOpened | ev.MergeConflict | ev.PermissionAsked) or failed_task:
            self.bell()

    def refresh_view(self) -> None:
        if not self.query(RunHeader):
            return  # shutting down: a last snapshot arrived after the widgets went
        now = self.clock()
        dead = engine_liveness(self.snapshot, now).level == "dead"
        # With the engine gone nothing runs: no "1 running" with a ticking clock.
        state = settled(self.snapshot.state, not dead)
        snapshot = replace(self.snapshot, state=state)
        self.query_one(RunHeader).show(snapshot, now)
        self.query_one(StageStrip).state = state
        self.query_one(GateBox).show(state.gate)
        self.query_one(AskingBox).show(state.permissions)
        self.query_one(TaskCounts).state = state
        self.query_one(AgentLines).show(snapshot, now)
        self.query_one(ProblemLines).show(state)
        lines = [(line.text, line.style) for line in self.activity]
        self.query_one(MessageLines).show(snapshot, lines, dead)

    def say(self, text: str, style: str = "", command_id: str = "") -> None:
        self.activity.append(Activity(text, style, command_id))
        self.refresh_view()

    def answer(self, command_id: str, answer: Activity) -> None:
        """The engine's answer takes the place of the line that said we sent the command."""
        lines = [answer if line.command_id == command_id else line for line in self.activity]
        if not any(line.command_id == command_id for line in self.activity):
            lines.append(answer)  # the "sent" line has scrolled away
        self.activity = deque(lines, maxlen=ACTIVITY_SHOWN)

    # ---- keys -----------------------------------------------------------------------------

    def action_approve(self) -> None:
        gate = self.snapshot.state.gate
        if gate is None:
            self.say("nothing waits for approval", "yellow")
            return
        self.send("approve", f"approve {gate.stage}")

    def action_reject(self) -> None:
        gate = self.snapshot.state.gate
        if gate is None:
            self.say("nothing waits to be rejected", "yellow")
            return

        def rejected(feedback: str | None) -> None:
            if feedback:
                self.send("reject", f"reject {gate.stage}", feedback)

        self.push_screen(FeedbackDialog(gate.stage), rejected)

    def action_answer(self, decision: str) -> None:
        """Allow the request that has waited longest (once, or for the agent's session)."""
        head = self.query_one(AskingBox).head
        if head is None:
            self.say("no permission request waits", "yellow")
            return
        words = "allow" if decision == "allow" else "allow for the session"
        self.send(decision, f"{words} {head.id} ({head.task}: {head.line})", task=head.id)

    def action_deny(self) -> None:
        head = self.query_one(AskingBox).head
        if head is None:
            self.say("no permission request waits", "yellow")
            return

        def denied(reason: str | None) -> None:
            if reason is not None:
                label = f"deny {head.id} ({head.task}: {head.line})"
                self.send("deny", label, reason or "denied by the user", task=head.id)

        self.push_screen(FeedbackDialog(None, f"Deny {head.id} {head.line}: why?"), denied)

    def send(self, action: str, label: str, feedback: str = "", task: str = "") -> None:
        try:
            command = submit(self.workspace, action, task, feedback, by="monitor")
        except OSError as exc:
            self.say(f"could not write to the inbox: {exc.strerror or exc}", "bold red")
            return
        self.sent[command.id] = label
        if engine_liveness(self.snapshot, self.clock()).level == "dead":
            text = f"sent {label}; the engine is not running — it applies on resume"
            style = "yellow"
        else:
            text, style = f"sent {label} — waiting for the engine…", "cyan"
        self.say(text, style, command.id)


def run_monitor(workspace: Path) -> int:
    """The one factory the CLI, the tests and screenshots share."""
    MonitorApp(workspace).run()
    return 0
