"""The line over the panes for what waits for a person's answer: "T3 waits for you: Bash
`pytest -q` (P1)", one per request, oldest first; `w` opens the queue. Hidden when nothing
waits."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static

from ...core.permissions import PermissionState, waiting
from ...core.state import RunState

SHOWN = 3


def waiting_text(permission: PermissionState) -> str:
    summary = permission.summary.replace("`", "'")
    subject = f" `{summary}`" if summary else ""
    return f"{permission.task} waits for you: {permission.tool}{subject} ({permission.id})"


def banner_text(permissions: dict[str, PermissionState]) -> Text:
    queue = waiting(permissions)
    lines = [Text(f" ? {waiting_text(p)}") for p in queue[:SHOWN]]
    if len(queue) > SHOWN:
        lines.append(Text(f"   … and {len(queue) - SHOWN} more"))
    if lines:
        lines[-1].append("   w: answer", style="bold")
    return Text("\n").join(lines)


class AskingBanner(Static):
    """Bound to the run screen's state; says `Waiting` when a request starts to wait (the
    app rings the bell: ui/asking_actions.py)."""

    state: reactive[RunState] = reactive(RunState, always_update=True, repaint=False)

    class Waiting(Message):
        def __init__(self, permission: PermissionState) -> None:
            super().__init__()
            self.permission = permission

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.shown: tuple[str, ...] = ()
        self.seen: frozenset[str] = frozenset()

    def on_mount(self) -> None:
        self.display = bool(self.shown)

    def watch_state(self) -> None:
        permissions = self.state.permissions
        queue = waiting(permissions)
        new = [p for p in queue if p.id not in self.seen]
        self.seen = frozenset(p.id for p in queue)
        self.show(permissions)
        if new:
            self.post_message(AskingBanner.Waiting(new[-1]))

    def show(self, permissions: dict[str, PermissionState]) -> None:
        queue = tuple(waiting_text(p) for p in waiting(permissions))
        if queue == self.shown:
            return
        self.shown = queue
        self.display = bool(queue)
        self.update(banner_text(permissions))
