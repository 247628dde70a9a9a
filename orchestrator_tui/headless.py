"""The headless console: one line per meaningful event, a live status line on a TTY."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.markup import RE_TAGS, escape
from rich.status import Status

from .core import events as ev
from .core.models import StageName
from .core.state import RunState, apply
from .core.takeover import shell_line
from .core.tally import task_tally

STATUS_SECONDS = 0.1
STAGE_ICON = {"done": "[green]✓[/]", "failed": "[red]✗[/]", "skipped": "[yellow]↷[/]"}


class HasState(Protocol):
    state: RunState


class HeadlessConsole:
    """An EventSink that prints. Output lines are not printed (they are in the log files).
    Beside an engine (`follow`) it reads the engine's state, folded already; alone it folds."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.terminal = self.console.is_terminal  # asked once, not for every line
        if not self.terminal:  # a CI log: long lines stay whole (tables, paths)
            self.console.soft_wrap = True
        self.state = RunState()
        self.live: Status | None = None
        self.status_at = 0.0
        self.engine: HasState | None = None
        if self.terminal:
            self.live = self.console.status("starting…")
            self.live.start()

    def follow(self, engine: HasState) -> None:
        """Read `engine.state` (the sink is called on the engine's thread, after its fold)."""
        self.engine = engine
        self.state = engine.state

    def emit(self, event: ev.EventBase) -> None:
        self.state = self.engine.state if self.engine else apply(self.state, event)
        line = self.describe(event)
        if line:
            stamp = time.strftime("%H:%M:%S", time.localtime(event.at or time.time()))
            self.say(f"[dim]{stamp}[/] {line}")
        if isinstance(event, ev.StageFinished) and event.details and event.status == "failed":
            self.say(escape(event.details))
        now = time.monotonic()
        if self.live is not None and now - self.status_at >= STATUS_SECONDS:
            self.status_at = now
            self.live.update(self.status_line())

    def say(self, markup: str) -> None:
        """A line in colour on a terminal; plain text, unwrapped, in a CI log or a file (and
        a fifth of the cost: a 1,000-task run prints 2,000 lines)."""
        if self.terminal:
            self.console.print(markup)
        else:
            self.console.file.write(plain(markup) + "\n")
            self.console.file.flush()

    def describe(self, event: ev.EventBase) -> str:
        match event:
            case ev.RunStarted():
                verb = "resumed" if event.resumed else "started"
                return f"[bold]run {event.run_id} {verb}[/] in {escape(event.workspace)}"
            case ev.StageStarted():
                again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                return f"[bold cyan]▶ {event.stage.title}[/]{again}"
            case ev.StageFinished():
                icon = STAGE_ICON[event.status]
                note = " [dim](no built-in runner)[/]" if event.passthrough else ""
                return f"{icon} {event.stage.title}: {escape(event.summary)}{note}"
            case ev.GateOpened():
                what = "[red]failed[/] — retry, skip or cancel" if event.failed else "waits"
                blockers = "".join(f"\n   [red]![/] {escape(b)}" for b in event.blockers)
                return (
                    f"[bold yellow]⏸ {event.stage.title} {what}[/]: {escape(event.summary)}"
                    f"{blockers}\n   [dim]orchestrator-tui approve | reject -m TEXT | retry | "
                    "skip | cancel[/]"
                )
            case ev.GateDecided() if event.by != "auto":
                feedback = f": {escape(event.feedback)}" if event.feedback else ""
                return f"[bold]{event.decision}[/] {event.stage.title} by {event.by}{feedback}"
            case ev.TaskStarted():
                again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                return f"  [cyan]●[/] {escape(event.task)} started on {escape(event.agent)}{again}"
            case ev.TaskFinished():
                task = self.state.tasks.get(event.task)
                cost = f" ${task.cost_usd:.4f}, {task.tokens:,} tokens" if task else ""
                colour = "green" if event.status == "done" else "red"
                if event.status == "skipped":
                    colour = "yellow"
                reason = "" if event.status == "done" else f": {escape(event.reason)}"
                return (
                    f"  [{colour}]{event.status}[/] {escape(event.task)} "
                    f"in {event.duration:.1f}s{cost}{reason}"
                )
            case ev.TaskTakenOver():  # core/takeover.py
                line = shell_line(event.workdir, event.command, {})
                note = f" ({escape(event.note)})" if event.note else ""
                return (
                    f"  [magenta]✎ taken over[/] {escape(event.task)}{note}: {escape(line)}\n"
                    f"   [dim]orchestrator-tui take {escape(event.task)} opens it · "
                    f"done {escape(event.task)} merges it[/]"
                )
            case ev.TaskBlocked():
                return f"  [red]blocked[/] {escape(event.task)}: {escape(event.cause)}"
            case ev.MergeConflict():
                return f"  [red]conflict[/] {escape(event.task)}: {escape(', '.join(event.files))}"
            case ev.PlanReloaded():
                if event.error:
                    error = escape(event.error)
                    return f"[red]PLAN.md is invalid[/] (the last good plan stays): {error}"
                parts = [
                    f"{k} {', '.join(v)}"
                    for k, v in (
                        ("added", event.added),
                        ("removed", event.removed),
                        ("changed", event.changed),
                    )
                    if v
                ]
                return f"[blue]PLAN.md reloaded[/]: {escape('; '.join(parts) or 'no task changes')}"
            case ev.SystemReloaded():
                return f"[blue]CLAUDE.md reloaded[/]: {escape(', '.join(event.sections))}"
            case ev.BudgetReached():
                return f"[red]budget reached[/] ({event.scope}): {event.spent} of {event.limit}"
            case ev.RunPaused():
                return "[yellow]paused[/]"
            case ev.RunResumed():
                return "[green]resumed[/]"
            case ev.Notice():
                colour = {"info": "blue", "warning": "yellow", "error": "red"}[event.level]
                return f"[{colour}]{event.level}[/]: {escape(event.text)}"
            case ev.CommandApplied() if not event.ok:
                return f"[red]refused[/] {escape(event.action)}: {escape(event.message)}"
            case ev.PermissionAsked():
                line = escape(f"{event.tool} {event.summary}".rstrip())
                return (
                    f"  [bold yellow]?[/] {escape(event.task)} asks ({event.request_id}): {line}"
                    f"\n   [dim]orchestrator-tui allow {event.request_id} [--session] | "
                    f"deny {event.request_id} -m WHY[/]"
                )
            case ev.PermissionAnswered():
                why = f": {escape(event.message)}" if event.message else ""
                return f"  [bold]?[/] {event.request_id} {event.decision} by {event.by}{why}"
            case ev.PermissionWithdrawn():
                return f"  [dim]? {event.request_id} withdrawn: {escape(event.reason)}[/]"
            case ev.AgentTold():
                said = f": {escape(event.text)}" if event.text else ""
                return f"  » {event.action} {escape(event.task)} by {event.by}{said}"
            case ev.RunFinished():
                colour = "green" if event.outcome == "complete" else "red"
                return f"[bold {colour}]run {event.outcome}[/]: {escape(event.reason)}"
        return ""

    def status_line(self) -> str:
        state = self.state
        stage = state.current_stage
        running = ", ".join(t.id for t in state.tasks.values() if t.status == "running")
        parts = [
            f"stage {stage.title if stage else '—'}",
            f"tasks {task_tally(state)}",  # done apart from skipped, as `status` says it
            f"${state.cost_usd:.4f}",
        ]
        if running:
            parts.append(f"running {running}")
        if state.gate:
            parts.append(f"[bold yellow]waiting at {state.gate.stage.title}[/]")
        return " · ".join(parts)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
        path = summary_path(self.state)
        if not (path and path.is_file()):
            return
        text = path.read_text(encoding="utf-8", errors="replace")
        if self.terminal:
            self.console.rule("summary")
            self.console.print(escape(text))
        else:  # a log: the file as it is (rich would lay out every line of it)
            rule = f"{' summary ':─^{self.console.width}}"
            body = text.rstrip("\n")
            self.console.file.write(f"{rule}\n{body}\n")
            self.console.file.flush()


def plain(markup: str) -> str:
    """The text of console markup without its tags, as rich reads them (`\\[` is a
    literal bracket), without building the styled text that is thrown away in a log."""

    def untag(match: re.Match[str]) -> str:
        whole, escapes = match.group(1), match.group(2)
        backslashes, escaped = divmod(len(escapes), 2)
        return "\\" * backslashes + (whole[len(escapes) :] if escaped else "")

    return RE_TAGS.sub(untag, markup)


def summary_path(state: RunState) -> Path | None:
    """Where the complete stage wrote summary.md, if it did."""
    evidence = state.stages[StageName.COMPLETE].evidence
    value = evidence.get("summary_path") if isinstance(evidence, dict) else None
    return Path(value) if value else None
