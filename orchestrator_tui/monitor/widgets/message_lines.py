"""What the monitor has to say: its own actions and the engine's answers, lines of the log
it had to skip, and the engine's recent warnings."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from ..follower import MonitorSnapshot

NOTICES_SHOWN = 2


def message_text(
    snapshot: MonitorSnapshot, activity: Sequence[tuple[str, str]], engine_dead: bool
) -> Text:
    lines: list[tuple[str, str]] = list(activity)
    for warning in snapshot.warnings:
        lines.append(("⚠ " + warning, "yellow"))
    if snapshot.unknown_events:
        count = snapshot.unknown_events
        lines.append(
            (
                f"⚠ skipped {count} event{'s' * (count > 1)} of a kind this version does not "
                "know (a newer orchestrator-tui wrote them)",
                "yellow",
            )
        )
    if snapshot.torn_tail and engine_dead:
        lines.append(("⚠ the event log ends in a half-written line", "yellow"))
    notices = [n for n in snapshot.state.notices if not n.startswith("info:")]
    for notice in notices[-NOTICES_SHOWN:]:
        lines.append((notice, "red" if notice.startswith("error:") else "yellow"))
    text = Text()
    for number, (line, style) in enumerate(lines):
        if number:
            text.append("\n")
        text.append(line, style=style)
    return text


class MessageLines(Static):
    """Hidden while there is nothing to say."""

    def show(
        self, snapshot: MonitorSnapshot, activity: Sequence[tuple[str, str]], engine_dead: bool
    ) -> None:
        text = message_text(snapshot, activity, engine_dead)
        self.display = bool(text.plain)
        self.update(text)
