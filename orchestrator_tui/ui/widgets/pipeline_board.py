"""The pipeline board: the nine stages in order, their state, elapsed time, and a badge
on the stage that waits for approval.

Each stage's cell is as wide as what it shows, and the room left is shared out: so at
119 columns every stage keeps its number, and at 80 every name is whole (the status icon
moves down beside the time). Only below ~70 columns are names cut.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from ...core.models import STAGES, StageName, StageStatus
from ...core.state import RunState
from ..view import STAGE_ICONS, fmt_duration, stage_elapsed

BADGE = "APPROVE?"
FAILED_BADGE = "DECIDE"
GAP = 1  # columns between two cells


def share_out(needs: list[int], width: int) -> list[int] | None:
    """Cell widths, each at least its need, filling `width`; None when they do not fit."""
    spare = width - sum(needs) - GAP * (len(needs) - 1)
    if spare < 0:
        return None
    extra, rest = divmod(spare, len(needs))
    return [need + extra + (1 if n < rest else 0) for n, need in enumerate(needs)]


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

    # Bound to the run screen's state and clock.
    state: reactive[RunState] = reactive(RunState, always_update=True)
    now: reactive[float] = reactive(0.0)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.widths: list[int] = []

    # ---- what each cell says -------------------------------------------------------------

    def below(self, stage: StageName) -> str:
        """The second row: the time (and attempt), or the badge of a waiting stage."""
        stage_state = self.state.stages[stage]
        status = stage_state.status
        if status == StageStatus.AWAITING_APPROVAL:
            failed = self.state.gate is not None and self.state.gate.failed
            return FAILED_BADGE if failed else BADGE
        if not stage_state.started_at:
            return ""
        if status == StageStatus.PENDING and stage_state.fix_round:
            return f"↺{stage_state.fix_round}"  # to run again: its last round's time is old
        elapsed = stage_elapsed(
            self.state, status, stage_state.started_at, stage_state.finished_at, self.now
        )
        text = fmt_duration(elapsed)
        if stage_state.fix_round:
            text += f" ↺{stage_state.fix_round}"  # a send-back's fix round
        elif stage_state.attempt > 1:
            text += f" #{stage_state.attempt}"
        if stage_state.passthrough:
            text += " pass"
        return text

    def plan(self, width: int, rows: int) -> tuple[list[str], list[str], list[int]]:
        """The labels, the second rows and the cell widths for this size: the longest form
        that fits (icon, number and name; icon and name; name over icon and time)."""
        icons = [STAGE_ICONS[self.state.stages[s].status] for s in STAGES]
        belows = [self.below(s) for s in STAGES]
        forms = [
            ([f"{i} {s.number} {s.title}" for i, s in zip(icons, STAGES, strict=True)], belows),
            ([f"{i} {s.title}" for i, s in zip(icons, STAGES, strict=True)], belows),
        ]
        if rows > 1:
            moved = [f"{i} {b}".rstrip() for i, b in zip(icons, belows, strict=True)]
            forms.append(([s.title for s in STAGES], moved))
        else:
            forms.append(([f"{i}{s.title}" for i, s in zip(icons, STAGES, strict=True)], belows))
        for labels, seconds in forms:
            names = [len(label) for label in labels]
            # The second row whole if it fits, else it may shrink (a badge to ◆◆); the
            # name never does.
            for most in (99, 6) if rows > 1 else (0,):
                needs = [max(n, min(len(b), most)) for n, b in zip(names, seconds, strict=True)]
                widths = share_out(needs, width)
                if widths is not None:
                    return labels, seconds, widths
        labels, seconds = forms[-1]
        cell = max(1, (width - GAP * (len(STAGES) - 1)) // len(STAGES))
        return labels, seconds, [cell] * len(STAGES)

    # ---- drawing -------------------------------------------------------------------------

    def render(self) -> Text:
        rows = 1 if self.size.height <= 1 else 2
        labels, belows, widths = self.plan(self.size.width, rows)
        self.widths = widths
        top, bottom = Text(no_wrap=True, overflow="crop"), Text(no_wrap=True, overflow="crop")
        for n, stage in enumerate(STAGES):
            if n:
                top.append(" " * GAP)
                bottom.append(" " * GAP)
            name_cell, time_cell = self.cells(stage, labels[n], belows[n], widths[n])
            top.append_text(name_cell)
            bottom.append_text(time_cell)
        if rows == 1:
            return top
        return Text("\n").join([top, bottom])

    def cells(self, stage: StageName, label: str, below: str, width: int) -> tuple[Text, Text]:
        status = self.state.stages[stage].status
        style = self.style_of(status.value)
        if status == StageStatus.AWAITING_APPROVAL:
            if len(below) > width:
                below = "◆" * min(width, 2)
            below_style = self.style_of("badge")
        else:
            below_style = style + self.style_of("dim")
        name_cell = Text(label, style=style)
        name_cell.truncate(width, overflow="ellipsis", pad=True)
        time_cell = Text(below, style=below_style)
        time_cell.truncate(width, overflow="ellipsis", pad=True)
        return name_cell, time_cell

    def style_of(self, name: str) -> Style:
        return self.get_component_rich_style(
            f"pipeline-board--{name}", partial=True, default=Style()
        )

    def stage_at(self, x: int) -> StageName | None:
        left = 0
        for stage, width in zip(STAGES, self.widths or [1] * len(STAGES), strict=False):
            if left <= x < left + width + GAP:
                return stage
            left += width + GAP
        return None

    def on_click(self, event: events.Click) -> None:
        stage = self.stage_at(event.x)
        if stage is not None:
            self.post_message(PipelineBoard.StageSelected(stage))
