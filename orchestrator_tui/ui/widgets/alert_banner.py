"""A banner over the panes for what must not be missed: an invalid PLAN.md (the last good
plan stays in force) or an engine that stopped with an error. Hidden when all is well."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ...core.state import RunState
from ..plan_view import PlanView
from ..view import alerts_for


class AlertBanner(Static):
    """Bound to the run screen's state, plan and engine failure."""

    state: reactive[RunState] = reactive(RunState, always_update=True, repaint=False)
    plan: reactive[PlanView] = reactive(PlanView, always_update=True, repaint=False)
    engine_failure: reactive[str] = reactive("", repaint=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.messages: tuple[str, ...] = ()

    def on_mount(self) -> None:
        self.display = bool(self.messages)

    def watch_state(self) -> None:
        self.show(alerts_for(self.state, self.plan.error, self.engine_failure))

    watch_plan = watch_engine_failure = watch_state

    def show(self, messages: tuple[str, ...]) -> None:
        if messages == self.messages:
            return
        self.messages = messages
        self.display = bool(messages)
        self.update(Text("\n").join(Text(f" ⚠ {m}") for m in messages))
