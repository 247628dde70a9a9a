"""The workspace's runs, newest first: a row each, as `orchestrator-tui runs` prints them
(ui/run_rows.py); Enter opens one read-only with its timeline (screens/past_run.py).

Reading the logs takes a moment for long runs, so the list and the run to open are read
in thread workers; their results arrive through the workers' state changes, on the UI
thread, where the table is filled and the run's screen pushed.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from ...core.run_summary import RunSummary
from ...infra.run_index import list_runs
from ..past_runs import PastRun, UnknownRun, load_past_run
from ..run_rows import GOAL_WIDTH, HEADERS, row
from .past_run import PastRunScreen

MIN_GOAL = 16


class RunsScreen(Screen[None]):
    CSS_PATH = "runs_list.tcss"
    BINDINGS = [
        Binding("enter", "open", "Open", show=True),
        Binding("r", "reload", "Refresh"),
        Binding("escape,q", "close", "Back"),
    ]

    def __init__(self, workspace: Path, *, quits: bool = False) -> None:
        """`quits`: closing this screen ends the app (`orchestrator-tui runs --open`)."""
        super().__init__()
        self.workspace = workspace
        self.quits = quits
        self.runs: dict[str, RunSummary] = {}
        self.table: DataTable[str] = DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        self.note = Static("reading the runs…", id="runs-note", markup=False)
        self.opening = ""

    def compose(self) -> ComposeResult:
        yield Static(f"Runs of {self.workspace.resolve()}", id="runs-title", markup=False)
        yield self.table
        yield self.note
        yield Footer()

    def on_mount(self) -> None:
        self.table.add_columns(*HEADERS)
        self.table.focus()
        self.action_reload()

    # ---- reading -------------------------------------------------------------------

    def action_reload(self) -> None:
        self.run_worker(
            partial(list_runs, self.workspace), thread=True, group="list", exclusive=True
        )

    def open_run(self, run_id: str) -> None:
        """Read the run's log (in a worker), then show it."""
        self.opening = run_id
        self.note.update(f"opening {run_id}…")
        self.run_worker(
            partial(load_past_run, self.workspace, run_id),
            thread=True,
            group="open",
            exclusive=True,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.SUCCESS and worker.group == "list":
            self.fill(worker.result or [])
        elif event.state == WorkerState.SUCCESS and worker.group == "open":
            self.show_run(worker.result)
        elif event.state == WorkerState.ERROR:
            error = worker.error
            what = "cannot open the run" if worker.group == "open" else "cannot read the runs"
            text = str(error) if isinstance(error, UnknownRun) else f"{what}: {error}"
            self.note.update(text)
            self.notify(text, severity="error", markup=False)

    def fill(self, runs: list[RunSummary]) -> None:
        selected = self.selected_run
        self.runs = {r.run_id: r for r in runs}
        # The columns too: a DataTable's auto widths only ever grow.
        self.table.clear(columns=True)
        self.table.add_columns(*HEADERS)
        width = self.goal_width(runs)
        for summary in runs:
            self.table.add_row(*row(summary, width), key=summary.run_id)
        if selected in self.runs:
            self.table.move_cursor(row=self.table.get_row_index(selected))
        if not runs:
            self.note.update(f"no runs in {self.workspace / '.orchestrator' / 'runs'}")
        else:
            self.describe(self.selected_run)

    def goal_width(self, runs: list[RunSummary]) -> int:
        """The goal, last, gets what the other columns leave of the screen's width (at
        least MIN_GOAL: below that the table scrolls sideways)."""
        width = self.size.width or self.app.size.width  # before the first layout: the app's
        if not runs or not width:
            return GOAL_WIDTH
        rows = [HEADERS, *(row(r, 1) for r in runs)]
        others = sum(max(len(r[n]) for r in rows) + 2 for n in range(len(HEADERS) - 1))
        return max(MIN_GOAL, min(GOAL_WIDTH * 2, width - others - 4))

    def on_resize(self) -> None:
        if self.runs:
            self.fill(list(self.runs.values()))

    def show_run(self, past: PastRun | None) -> None:
        if past is None or past.run_id != self.opening:
            return
        self.opening = ""
        self.describe(past.run_id)
        self.app.push_screen(PastRunScreen(past))

    # ---- the table -----------------------------------------------------------------

    @property
    def selected_run(self) -> str | None:
        if not self.runs or self.table.row_count == 0:
            return None
        key = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key
        return key.value

    def describe(self, run_id: str | None) -> None:
        """Under the table: the selected run's goal and reason, and what its log lacked."""
        summary = self.runs.get(run_id or "")
        if summary is None:
            return
        lines = [f"{summary.run_id}: {summary.goal or 'no goal'}"]
        if summary.reason:
            lines.append(summary.reason)
        lines += [f"! {w}" for w in summary.warnings if w != summary.reason]
        self.note.update("\n".join(lines))

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        message.stop()
        self.describe(message.row_key.value if message.row_key else None)

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        self.open_checked(message.row_key.value if message.row_key else None)

    def action_open(self) -> None:
        self.open_checked(self.selected_run)

    def open_checked(self, run_id: str | None) -> None:
        if run_id is None or run_id not in self.runs:
            self.notify("No run to open.", severity="warning")
            return
        if self.runs[run_id].outcome == "unreadable":
            self.notify(f"{run_id}: {self.runs[run_id].reason}", severity="error", markup=False)
            return
        self.open_run(run_id)

    def action_close(self) -> None:
        if self.quits:
            self.app.exit()
        else:
            self.dismiss(None)
