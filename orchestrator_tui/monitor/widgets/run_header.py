"""The top of the monitor: which run, and whether its engine is alive."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..follower import MonitorSnapshot
from ..liveness import engine_liveness

LIVENESS_STYLE = {
    "alive": ("♥ ", "green"),
    "dead": ("", "bold red"),
    "done": ("■ ", "bold"),
    "idle": ("… ", "dim"),
}


class RunHeader(Static):
    """`orch · run 20261128-213822-ff24` and the engine's liveness line."""

    def show(self, snapshot: MonitorSnapshot, now: float) -> None:
        text = Text()
        text.append("orch", style="bold")
        if snapshot.run_id:
            text.append(f" · run {snapshot.run_id}", style="dim")
        if snapshot.state.paused and not snapshot.state.finished:
            text.append(" ‖ paused", style="bold yellow")
        liveness = engine_liveness(snapshot, now)
        mark, style = LIVENESS_STYLE[liveness.level]
        text.append("\n")
        text.append(mark + liveness.text, style=style)
        self.update(text)
