"""The permission request that has waited longest, for the monitor to answer: "T3 waits
for you: Bash `pytest -q`", how many more wait, and the keys. Hidden while none waits."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ...core.permissions import PermissionState, waiting


def asking_text(queue: list[PermissionState]) -> Text:
    first = queue[0]
    text = Text()
    text.append(f"? {first.task} waits for you", style="bold yellow")
    text.append(f" ({first.id})\n")
    text.append(first.tool, style="bold")
    if first.summary:
        text.append(f" `{first.summary}`")
    if len(queue) > 1:
        text.append(f"\n+{len(queue) - 1} more waiting", style="dim")
    text.append("\n")
    for key, what in (("y", " allow · "), ("Y", " for the session · "), ("n", " deny")):
        text.append(key, style="bold")
        text.append(what, style="dim")
    return text


class AskingBox(Static):
    """Hidden while nothing waits; `head` is the request the keys answer."""

    head: PermissionState | None = None

    def show(self, permissions: dict[str, PermissionState]) -> None:
        queue = waiting(permissions)
        self.head = queue[0] if queue else None
        self.display = bool(queue)
        if queue:
            self.update(asking_text(queue))
