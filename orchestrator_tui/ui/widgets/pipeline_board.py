"""The pipeline board: the nine stages in order, their state, elapsed time, and a badge
on the stage that waits for approval."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from ...core.models import STAGES, StageName, StageStatus
from ...core.state import RunState
from ..view import STAGE_ICONS, fmt_duration, stage_elapsed

BADGE = "APPROVE?"
FAILED_BADGE = "DECIDE"


class PipelineBoard(Widget):
    """Renders itself (one widget, not 18): a row of stage names and a row of times."""

    COMPONENT_CLASSES = {f"pipeline-board--{status.value}" for status in StageStatus} | {
        "pipeline-board--badge",
        "pipeline-board--dim",
    }

    class StageSelected(Message):
        """The user clicked a stage."""

        def __init__(self, stage: StageName) -> None:
            super().__init__()
            self.stage = stage

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = RunState()
        self.now = 0.0

    def show(self, state: RunState, now: float) -> None:
        self.state = state
        self.now = now
        self.refresh()

    def cell_width(self) -> int:
        return max(1, self.size.width // len(STAGES))

    def render(self) -> Text:
        width = self.cell_width()
        top, bottom = Text(no_wrap=True, overflow="crop"), Text(no_wrap=True, overflow="crop")
        for stage in STAGES:
            name_cell, time_cell = self.cells(stage, width)
            top.append_text(name_cell)
            bottom.append_text(time_cell)
        if self.size.height <= 1:
            return top
        return Text("\n").join([top, bottom])

    def cells(self, stage: StageName, width: int) -> tuple[Text, Text]:
        stage_state = self.state.stages[stage]
        status = stage_state.status
        waiting = status == StageStatus.AWAITING_APPROVAL
        style = self.style_of(status.value)
        icon = STAGE_ICONS[status]
        label = f"{icon} {stage.number} {stage.title}"
        if len(label) >= width:  # the number goes before the name is cut
            label = f"{icon} {stage.title}" if width >= 6 else f"{icon}{stage.number}"
        if waiting:
            failed = self.state.gate is not None and self.state.gate.failed
            below = FAILED_BADGE if failed else BADGE
            if width < len(below) + 2:
                below = "◆" * min(width - 1, 2) or "◆"
            below_style = self.style_of("badge")
        else:
            elapsed = stage_elapsed(
                self.state, status, stage_state.started_at, stage_state.finished_at, self.now
            )
            below = fmt_duration(elapsed) if stage_state.started_at else ""
            if stage_state.attempt > 1 and width >= 12:
                below += f" #{stage_state.attempt}"
            if stage_state.passthrough and width >= 14:
                below += " pass"
            below_style = style + self.style_of("dim")
        name_cell = Text(label, style=style)
        name_cell.truncate(width - 1, overflow="ellipsis", pad=True)
        name_cell.append(" ")
        prefix = "  " if width >= 12 else ""
        time_cell = Text(prefix + below if below else "", style=below_style)
        time_cell.truncate(width - 1, overflow="ellipsis", pad=True)
        time_cell.append(" ")
        return name_cell, time_cell

    def style_of(self, name: str) -> Style:
        return self.get_component_rich_style(
            f"pipeline-board--{name}", partial=True, default=Style()
        )

    def on_click(self, event: events.Click) -> None:
        index = event.x // self.cell_width()
        if 0 <= index < len(STAGES):
            self.post_message(PipelineBoard.StageSelected(STAGES[index]))
