"""The gate that waits for a person: in bold, with its summary and blockers."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...core.state import Gate


def gate_text(gate: Gate) -> Text:
    text = Text()
    if gate.failed:
        text.append(f"! {gate.stage.title} failed", style="bold red")
    else:
        text.append(f"⏸ {gate.stage.title} waits for you", style="bold yellow")
    if gate.summary:
        text.append("\n" + gate.summary)
    for blocker in gate.blockers:
        text.append("\n! ", style="bold red")
        text.append(blocker)
    text.append("\n")
    if gate.failed:
        text.append("r", style="bold")
        text.append(" rerun with feedback · retry/skip: app or CLI", style="dim")
    else:
        text.append("a", style="bold")
        text.append(" approve · ", style="dim")
        text.append("r", style="bold")
        text.append(" reject with feedback", style="dim")
    return text


class GateBox(Static):
    """Hidden while nothing waits."""

    def show(self, gate: Gate | None) -> None:
        self.display = gate is not None
        if gate is not None:
            self.set_class(gate.failed, "-failed")
            self.update(gate_text(gate))
