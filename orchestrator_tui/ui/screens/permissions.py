"""The permission queue (`w`): every request that waits for a person, oldest first, with
what it would do (the command, the file and its diff). Keys: `y` allow once, `a` allow for
the rest of the agent's session, `n` deny with a reason (the agent reads it). Answers go
to the engine like every command; the first answer wins (another from the monitor or a
shell is refused "already answered"). Also the one-line prompt for `say` and a reason."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ...core.permissions import PermissionState, waiting
from ..view import fmt_duration

REFRESH_SECONDS = 0.3
DECISION_WORDS = {"allow": "allow once", "allow_session": "allow for the session", "deny": "deny"}


def row_text(permission: PermissionState, now: float, sent: str = "") -> Text:
    text = Text()
    text.append(f"{permission.id:<4}", style="bold")
    text.append(f" {permission.task:<8} ")
    text.append(permission.tool, style="bold yellow")
    text.append(f" {permission.summary}")
    age = max(0.0, now - permission.asked_at) if permission.asked_at else 0.0
    text.append(f"  waits {fmt_duration(age)}", style="dim")
    if sent:
        text.append(f"  → {sent} sent", style="italic cyan")
    return text


def detail_text(permission: PermissionState | None) -> Text:
    if permission is None:
        return Text("Nothing waits for you.", style="dim")
    text = Text()
    text.append(f"{permission.task} (attempt {permission.attempt}) asks for ", style="dim")
    text.append(permission.tool, style="bold")
    text.append(f"\n{permission.summary}\n")
    for line in permission.detail.splitlines()[:200]:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
        text.append(line + "\n", style=style)
    offered = " · ".join(
        f"{key} {DECISION_WORDS[d]}"
        for key, d in (("y", "allow"), ("a", "allow_session"), ("n", "deny"))
        if d in permission.options
    )
    text.append(f"\n{offered} · esc close", style="dim")
    return text


class PermissionsScreen(ModalScreen[None]):
    CSS_PATH = "permissions.tcss"
    BINDINGS = [
        Binding("y", "answer('allow')", "Allow once"),
        Binding("a", "answer('allow_session')", "Allow for session"),
        Binding("n", "deny", "Deny…"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, title: str = "Waiting for you") -> None:
        super().__init__()
        self.heading = title
        self.queue: list[PermissionState] = []
        self.sent: dict[str, str] = {}  # request id → the decision we sent, until settled

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.heading, id="title")
            yield OptionList(id="queue")
            with VerticalScroll(id="detail-box"):
                yield Static(id="detail", markup=False)

    def on_mount(self) -> None:
        self.refresh_queue()
        self.set_interval(REFRESH_SECONDS, self.refresh_queue)
        self.query_one(OptionList).focus()

    def permissions(self) -> dict[str, PermissionState]:
        return getattr(self.app, "state").permissions  # noqa: B009 - the app's RunState

    def refresh_queue(self) -> None:
        queue = waiting(self.permissions())
        listing = self.query_one(OptionList)
        self.sent = {rid: d for rid, d in self.sent.items() if any(p.id == rid for p in queue)}
        now = getattr(self.app, "clock", time.time)()
        if [p.id for p in queue] != [p.id for p in self.queue]:
            chosen = self.chosen()
            listing.clear_options()
            listing.add_options(
                [Option(row_text(p, now, self.sent.get(p.id, "")), id=p.id) for p in queue]
            )
            ids = [p.id for p in queue]
            if ids:
                listing.highlighted = ids.index(chosen.id) if chosen and chosen.id in ids else 0
        else:
            for index, p in enumerate(queue):
                listing.replace_option_prompt_at_index(
                    index, row_text(p, now, self.sent.get(p.id, ""))
                )
        self.queue = queue
        count = len(queue)
        self.query_one("#title", Static).update(
            f"{self.heading} · {count} request{'s' if count != 1 else ''}"
        )
        self.show_detail()

    def chosen(self) -> PermissionState | None:
        listing = self.query_one(OptionList)
        index = listing.highlighted
        if index is None or index >= len(self.queue):
            return None
        return self.queue[index]

    def show_detail(self) -> None:
        self.query_one("#detail", Static).update(detail_text(self.chosen()))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_detail()

    def action_answer(self, decision: str) -> None:
        permission = self.chosen()
        if permission is None:
            self.app.notify("Nothing waits for you.", severity="warning")
            return
        if decision not in permission.options:
            self.app.notify(f"{permission.id} does not offer {DECISION_WORDS[decision]}")
            return
        self.send(permission, decision, "")

    def action_deny(self) -> None:
        permission = self.chosen()
        if permission is None:
            self.app.notify("Nothing waits for you.", severity="warning")
            return

        def deny(reason: str | None) -> None:
            if reason is not None:
                self.send(permission, "deny", reason or "denied by the user")

        self.app.push_screen(
            LineInputScreen(
                f"Deny {permission.id} ({permission.task}: {permission.tool} {permission.summary})",
                "the reason the agent reads (enter: no reason)",
                allow_empty=True,
            ),
            deny,
        )

    def send(self, permission: PermissionState, decision: str, reason: str) -> None:
        self.sent[permission.id] = DECISION_WORDS[decision]
        submit = getattr(self.app, "submit")  # noqa: B009 - RunActions.submit (by="app")
        submit(decision, task=permission.id, feedback=reason)
        self.refresh_queue()
        listing = self.query_one(OptionList)
        index = listing.highlighted
        if index is not None and index + 1 < len(self.queue):
            listing.highlighted = index + 1  # on to the next request

    def action_close(self) -> None:
        self.dismiss(None)


class LineInputScreen(ModalScreen[str | None]):
    """One line of text (a deny reason, a message for an agent); None when cancelled."""

    CSS_PATH = "permissions.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str, allow_empty: bool = False) -> None:
        super().__init__()
        self.heading = title
        self.placeholder = placeholder
        self.allow_empty = allow_empty

    def compose(self) -> ComposeResult:
        with Vertical(id="line-box"):
            yield Label(self.heading, id="line-title", markup=False)
            yield Input(placeholder=self.placeholder, id="line-input")
            yield Label("enter send · esc cancel", id="line-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text and not self.allow_empty:
            self.query_one("#line-hint", Label).update("write something first (esc cancels)")
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
