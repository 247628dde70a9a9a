"""A task's detail: overview (description, dependencies, files, status), each of its
attempts (why it ran, what a send-back told it, how it ended, what it merged), its prompt,
its full log and its diff over all attempts. Files are read when the screen opens; the
diff runs git in a thread worker and arrives through the worker's state change (on the UI
thread)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Markdown, RichLog, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from ...core.attempts import AttemptRecord
from ...core.models import Task
from ...core.state import TaskState
from ..diff import task_diff
from ..evidence import escape_md
from ..sanitize import strip_escapes
from ..view import fmt_cost, fmt_duration, fmt_tokens, task_elapsed

MAX_LOG_BYTES = 2 * 1024 * 1024
MAX_PROMPT_BYTES = 512 * 1024


@dataclass(frozen=True)
class TaskFiles:
    """Where a task's files are, and what the diff needs."""

    workspace: Path
    run_id: str
    prompt: Path | None
    log: Path | None


class TaskDetailScreen(Screen[None]):
    CSS_PATH = "task_detail.tcss"
    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("q", "close", "Back", show=False),
        Binding("o", "tab('overview')", "Overview"),
        Binding("a", "tab('attempts')", "Attempts"),
        Binding("p", "tab('prompt')", "Prompt"),
        Binding("l", "tab('log')", "Log"),
        Binding("d", "tab('diff')", "Diff"),
    ]

    def __init__(
        self,
        task: TaskState,
        definition: Task | None,
        files: TaskFiles,
        now: float,
        initial: str = "overview",
    ) -> None:
        super().__init__()
        self.task_state = task
        self.definition = definition
        self.files = files
        self.now = now
        self.initial = initial

    def compose(self) -> ComposeResult:
        title = Text.assemble(
            (f" {self.task_state.id} ", "bold reverse"), " ", self.task_state.title or ""
        )
        yield Static(title, id="title", markup=False)
        with TabbedContent(initial=self.initial, id="tabs"):
            with TabPane("Overview", id="overview"):
                yield Markdown(self.overview(), id="overview-text")
            with TabPane("Attempts", id="attempts"):
                yield Markdown(attempts_text(self.task_state), id="attempts-text")
            with TabPane("Prompt", id="prompt"):
                yield Markdown(self.prompt_text(), id="prompt-text")
            with TabPane("Log", id="log"):
                yield Log(id="log-text", highlight=False)
            with TabPane("Diff", id="diff"):
                yield RichLog(
                    id="diff-text", wrap=False, markup=False, highlight=False, auto_scroll=False
                )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#log-text", Log).write_lines(self.log_lines())
        self.query_one("#diff-text", RichLog).write(Text("computing the diff…", style="dim"))
        workspace, run_id, task = self.files.workspace, self.files.run_id, self.task_state
        self.run_worker(partial(task_diff, workspace, run_id, task), thread=True, name="diff")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "diff":
            return
        view = self.query_one("#diff-text", RichLog)
        if event.state == WorkerState.SUCCESS:
            view.clear()
            view.write(diff_text(str(event.worker.result)))
        elif event.state == WorkerState.ERROR:
            view.clear()
            view.write(Text(f"no diff available: {event.worker.error}", style="red"))

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_close(self) -> None:
        self.dismiss(None)

    # ---- content --------------------------------------------------------------------------

    def overview(self) -> str:
        task, definition = self.task_state, self.definition
        rows = [
            ("status", f"{task.status.value}" + (f" — {task.reason}" if task.reason else "")),
            ("attempts", str(task.attempt)),
            ("agent", task.agent or (definition.agent if definition else "") or "default"),
            ("time", fmt_duration(task_elapsed(task, self.now)) if task.started_at else "—"),
            ("tokens", f"{fmt_tokens(task.input_tokens)} in, {fmt_tokens(task.output_tokens)} out"),
            ("cost", fmt_cost(task.cost_usd)),
            ("depends on", ", ".join(task.depends) or "nothing"),
            ("files declared", ", ".join(task.files) or "none"),
            ("files changed", ", ".join(task.changed_files) or "none reported"),
        ]
        if task.exit_code is not None:
            rows.append(("exit code", str(task.exit_code)))
        if task.workdir:
            rows.append(("worktree", task.workdir))
        if task.commit:
            rows.append(("merged as", task.commit))
        if task.conflict_files:
            rows.append(("conflicts", ", ".join(task.conflict_files)))
        table = "\n".join(f"- **{escape_md(k)}**: {escape_md(v)}" for k, v in rows)
        description = (definition.description if definition else "") or "(no description)"
        parts = [f"## {escape_md(task.title or task.id)}", table, "### Description", description]
        if definition and definition.run:
            parts += ["### Command", f"```\n{definition.run}\n```"]
        return "\n\n".join(parts)

    def prompt_text(self) -> str:
        path = self.files.prompt
        if path is None or not path.is_file():
            return "*No prompt yet: it is written when the task starts.*"
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_PROMPT_BYTES)
        except OSError as exc:
            return f"*Cannot read {escape_md(str(path))}: {escape_md(str(exc))}*"
        return f"`{path}`\n\n" + data.decode("utf-8", errors="replace")

    def log_lines(self) -> list[str]:
        path = self.files.log
        if path is None or not path.is_file():
            return ["(no log yet: the task has not produced output)"]
        try:
            with path.open("rb") as handle:
                size = handle.seek(0, 2)
                handle.seek(max(0, size - MAX_LOG_BYTES))
                data = handle.read()
        except OSError as exc:
            return [f"cannot read {path}: {exc}"]
        lines = [strip_escapes(line) for line in data.decode("utf-8", "replace").splitlines()]
        header = [f"{path} ({size:,} bytes)"]
        if size > MAX_LOG_BYTES:
            header.append(f"… showing the last {MAX_LOG_BYTES // 1024 // 1024} MB")
        return header + lines


def attempts_text(task: TaskState) -> str:
    """Each attempt, newest first: why it ran, how it ended, what it merged (the diff tab
    shows that merge as "merge k of n"), and the send-back text it was given."""
    if not task.attempts:
        if task.attempt:
            return f"*{task.attempt} attempt(s); this run recorded no details of them.*"
        return "*Not run yet.*"
    merges = list(task.commits) or ([task.commit] if task.commit else [])
    parts = [f"## {len(task.attempts)} attempt{'s' * (len(task.attempts) != 1)}"]
    told: dict[str, int] = {}  # send-back text → the first attempt it was given to
    for record in task.attempts:
        told.setdefault(record.feedback, record.number)
    for record in reversed(task.attempts):
        parts.append(attempt_section(record, merges, told.get(record.feedback, 0)))
    return "\n\n".join(parts)


def attempt_section(record: AttemptRecord, merges: list[str], first_told: int = 0) -> str:
    took = fmt_duration(record.duration) if record.finished_at else "running"
    cost = f", {fmt_cost(record.cost_usd)}" if record.cost_usd else ""
    heading = f"### Attempt {record.number}: {escape_md(record.status)} ({took}{cost})"
    rows = []
    if record.why:
        rows.append(("ran again after", record.why))
    rows.append(("agent", record.agent or "default"))
    if record.reason:
        rows.append(("reason", record.reason))
    if record.exit_code is not None:
        rows.append(("exit code", str(record.exit_code)))
    if record.files:
        rows.append(("files changed", ", ".join(record.files)))
    if record.commit:
        where = ""
        if record.commit in merges and len(merges) > 1:
            where = f" (diff tab: merge {merges.index(record.commit) + 1} of {len(merges)})"
        rows.append(("merged as", record.commit + where))
    if record.workdir:
        rows.append(("worktree", record.workdir))
    table = "\n".join(f"- **{escape_md(k)}**: {escape_md(v)}" for k, v in rows)
    section = [heading, table]
    if record.feedback and first_told and first_told < record.number:
        section.append(f"*Sent back with the same text as attempt {first_told}.*")
    elif record.feedback:
        section += ["**What it was sent back with:**", fenced(plain_lines(record.feedback))]
    return "\n\n".join(section)


def plain_lines(text: str) -> str:
    return "\n".join(strip_escapes(line) for line in text.splitlines())


def fenced(text: str) -> str:
    """`text` verbatim in a code block whose fence no run of backticks in it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def diff_text(diff: str) -> Text:
    out = Text()
    for line in diff.splitlines():
        clean = strip_escapes(line)
        if clean.startswith("+") and not clean.startswith("+++"):
            style = "green"
        elif clean.startswith("-") and not clean.startswith("---"):
            style = "red"
        elif clean.startswith("@@"):
            style = "cyan"
        elif clean.startswith(("diff ", "commit ", "+++", "---")):
            style = "bold"
        else:
            style = ""
        out.append(clean + "\n", style=style)
    out.rstrip()
    return out
