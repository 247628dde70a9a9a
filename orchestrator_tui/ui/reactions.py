"""What an engine event causes in the app beyond the folded state, which the run screen's
widgets read by themselves: lines and notes in the log panes, notifications, the approval
modal when a gate opens, the plan view when the plan is frozen or reloaded, the summary at
the end.

A mixin of OrchestratorApp, like its actions; it knows the app as `AppHost` (ui/host.py).
"""

from __future__ import annotations

from ..core import events as ev
from .host import AppHost
from .screens.document import DocumentScreen
from .view import fmt_duration


def pane_note(event: ev.EventBase) -> str:
    """The line that closes an attempt in the task's log pane."""
    match event:
        case ev.TaskFinished(status="done"):
            return f"✓ done in {fmt_duration(event.duration)} (attempt {event.attempt})"
        case ev.TaskFinished(will_retry=True):
            return f"✗ attempt {event.attempt} failed: {event.reason}"
        case ev.TaskFinished():
            return f"✗ {event.status}: {event.reason}"
        case ev.TaskBlocked():
            return f"⊘ blocked: {event.cause}"
        case ev.MergeConflict():
            return "≠ merge conflict: " + ", ".join(event.files)
    return ""


class RunReactions:
    """Mixed into OrchestratorApp; `self` is the app, seen as an AppHost."""

    def react(self: AppHost, event: ev.EventBase) -> None:
        logs = self.run_screen.logs
        match event:
            case ev.TaskOutput():
                logs.append(event.task, event.lines)
            case ev.TaskStarted():
                logs.task_started(event.task)
            case ev.TaskFinished() | ev.TaskBlocked() | ev.TaskReset() | ev.MergeConflict():
                task = self.state.tasks.get(event.task)
                if task is not None:
                    logs.task_status(event.task, task.status, pane_note(event))
                if isinstance(event, ev.TaskFinished) and task and task.status == "failed":
                    self.say(f"{event.task} failed: {event.reason}", severity="error")
            case ev.PlanFrozen():
                self.plan = self.plan.frozen(event, self.state)
            case ev.PlanReloaded():
                self.plan = self.plan.reloaded(event, self.state)
                RunReactions.say_reloaded(self, event)
            case ev.SystemReloaded():
                sections = ", ".join(event.sections) or "no stage section"
                self.say(f"CLAUDE.md reloaded; changed: {sections}", title="System")
            case ev.GateOpened():
                if self.options.config.notify.bell:
                    self.bell()
                # After the queue drains: a gate that a later event already closed (a
                # replay, an approval from the CLI) never flashes a modal.
                self.gate_unseen = True
                self.call_after_refresh(self.show_waiting_gate)
            case ev.GateDecided():
                if self.gate_screen is not None and self.gate_screen.stage == event.stage:
                    self.gate_screen.dismiss(None)
                if event.by not in ("app", "auto"):
                    self.say(f"{event.stage.title}: {event.decision} (by {event.by})")
            case ev.CommandApplied():
                text = event.message or event.action
                if event.ok:
                    self.say(text, timeout=4)
                else:
                    self.say(text, title="Refused", severity="warning", timeout=8)
            case ev.Notice():
                severity = {"info": "information", "warning": "warning", "error": "error"}
                self.say(event.text, severity=severity[event.level])  # type: ignore[arg-type]
            case ev.BudgetReached():
                self.say(
                    f"budget reached ({event.scope}): {event.spent} of {event.limit}",
                    severity="warning",
                    timeout=15,
                )
            case ev.RunFinished():
                severity = "information" if event.outcome == "complete" else "error"
                self.say(f"run {event.outcome}: {event.reason}", severity=severity, timeout=30)
                self.show_summary()

    def say_reloaded(self: AppHost, event: ev.PlanReloaded) -> None:
        if event.error:
            self.say(
                f"PLAN.md is invalid; the last good plan stays.\n{event.error}",
                title="Plan",
                severity="error",
                timeout=10,
            )
            return
        changes = [
            f"{label} {', '.join(ids)}"
            for label, ids in (
                ("added", event.added),
                ("removed", event.removed),
                ("changed", event.changed),
            )
            if ids
        ]
        self.say("PLAN.md reloaded: " + ("; ".join(changes) or "no task changed"), title="Plan")

    def show_waiting_gate(self: AppHost) -> None:
        """Open the approval modal for a gate not shown yet — over the run screen only: it
        must not cover a dialog the user is answering (quit, feedback) or reading."""
        if not self.gate_unseen or self.state.gate is None:
            return
        if self.screen is not self.run_screen:
            stage = self.state.gate.stage
            self.say(f"{stage.title} waits for approval: press a on the board.", timeout=6)
            return
        self.gate_unseen = False
        self.open_gate()

    def show_summary(self: AppHost) -> None:
        """The complete stage's summary.md, when the run wrote one."""
        files = self.engine.files if self.engine is not None else None
        path = files.report("summary.md") if files is not None else None
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path else ""
        except OSError:
            return
        if text:
            self.push_screen(DocumentScreen(f"Run {self.state.run_id}: summary", text))
