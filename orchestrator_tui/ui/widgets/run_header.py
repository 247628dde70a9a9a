"""The header line: the run, the workspace, where the pipeline is, tokens and cost."""

from __future__ import annotations

import os

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ...core.state import RunState
from ..view import fmt_cost, fmt_duration, fmt_tokens, running_tasks


def short_path(path: str) -> str:
    home = os.path.expanduser("~")
    if home not in ("", "/") and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


class RunHeader(Widget):
    """Drawn at render time, so its colours always come from the current styles. Bound to
    the run screen's state, clock and engine failure."""

    COMPONENT_CLASSES = {
        "run-header--title",
        "run-header--dim",
        "run-header--paused",
        "run-header--complete",
        "run-header--failed",
        "run-header--waiting",
    }

    state: reactive[RunState] = reactive(RunState, always_update=True)
    now: reactive[float] = reactive(0.0)
    engine_failure: reactive[str] = reactive("")

    def render(self) -> Text:
        """Most important first — where the run is, its cost — so a narrow terminal cuts
        the workspace path, not the state."""
        state, now = self.state, self.now
        engine_note = "engine stopped" if self.engine_failure else ""
        dim = self.style("dim")
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.size.width >= 100:
            line.append(" orchestrator-tui ", style=self.style("title"))
        line.append(" ")
        line.append_text(self.where(state))
        if state.paused:
            line.append("  ⏸ PAUSED", style=self.style("paused"))
        if engine_note:
            line.append(f"  {engine_note}", style=self.style("failed"))
        tokens = state.input_tokens + state.output_tokens
        line.append("  │ ", style=dim)
        line.append(f"{fmt_tokens(tokens)} tok  {fmt_cost(state.cost_usd)}")
        if state.started_at:
            end = state.updated_at if state.finished else now
            line.append(f"  {fmt_duration(max(0.0, end - state.started_at))}", style=dim)
        line.append("  │ run ", style=dim)
        line.append(state.run_id or "—")
        if state.workspace:
            line.append("  ")
            line.append(short_path(state.workspace), style=dim)
        return line

    def where(self, state: RunState) -> Text:
        if state.outcome == "complete":
            return Text("✓ complete", style=self.style("complete"))
        if state.outcome:
            return Text(f"✗ {state.outcome}", style=self.style("failed"))
        if state.gate is not None:
            verb = "failed, decide" if state.gate.failed else "waiting for approval"
            return Text(f"◆ {state.gate.stage.title}: {verb}", style=self.style("waiting"))
        stage = state.current_stage
        text = Text(f"▶ {stage.title}" if stage else "")
        running = len(running_tasks(state))
        if running:
            text.append(f" · {running} running")
        return text

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"run-header--{name}", partial=True, default=Style())
