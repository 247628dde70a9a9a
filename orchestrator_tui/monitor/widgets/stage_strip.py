"""The nine stages as a strip of glyphs, and the stage at work or waiting."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from ...core.models import STAGES, StageStatus
from ...core.state import RunState

GLYPHS: dict[StageStatus, tuple[str, str]] = {
    StageStatus.DONE: ("✓", "green"),
    StageStatus.APPROVED: ("✓", "green"),
    StageStatus.RUNNING: ("●", "bold cyan"),
    StageStatus.AWAITING_APPROVAL: ("⏸", "bold yellow"),
    StageStatus.FAILED: ("✗", "bold red"),
    StageStatus.PENDING: ("·", "dim"),
    StageStatus.SKIPPED: ("↷", "yellow"),
    StageStatus.REJECTED: ("↺", "yellow"),
}
FAILED_GATE = ("!", "bold red")


def stage_glyph(state: RunState, index: int) -> tuple[str, str]:
    stage = state.stages[STAGES[index]]
    if stage.status == StageStatus.AWAITING_APPROVAL and state.gate and state.gate.failed:
        return FAILED_GATE
    return GLYPHS[stage.status]


def strip_text(state: RunState, width: int) -> Text:
    """`✓ ✓ ✓ ● · · · · · 4/9 implement`; without the spaces when the pane is narrow."""
    current = state.current_stage
    label = f"{current.number}/9 {current.value}" if current else "all stages through"
    if state.finished:
        label = state.outcome
    spaced = width >= 2 * len(STAGES) + len(label)
    text = Text(no_wrap=True, overflow="ellipsis")
    for index in range(len(STAGES)):
        glyph, style = stage_glyph(state, index)
        text.append(glyph, style=style)
        if spaced:
            text.append(" ")
    if not spaced:
        text.append(" ")
    text.append(label, style="bold")
    return text


class StageStrip(Widget):
    """One line: a glyph per stage (✓ done, ● running, ⏸ waiting, ! failed gate, ✗ failed,
    · pending, ↷ skipped, ↺ rejected) and the current stage."""

    DEFAULT_CSS = "StageStrip { height: 1; }"

    state: reactive[RunState] = reactive(RunState, always_update=True)

    def render(self) -> Text:
        return strip_text(self.state, self.size.width)
