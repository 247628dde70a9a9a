"""The past-runs browser on its own (`orchestrator-tui runs --open [ID]`): the runs list,
and over it the run asked for, read-only. No engine, no lock: it only reads the
workspace's event logs, so it can be opened beside a running app or monitor."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from .orchestrator_app import STYLES
from .past_runs import PastRun
from .screens.past_run import PastRunScreen
from .screens.runs_list import RunsScreen


class RunsApp(App[None]):
    CSS_PATH = STYLES
    TITLE = "orchestrator-tui runs"

    def __init__(self, workspace: Path, past: PastRun | None = None) -> None:
        super().__init__()
        self.workspace = workspace
        self.past = past

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.workspace, quits=True))
        if self.past is not None:
            self.push_screen(PastRunScreen(self.past))
