"""The plan as the run screen's panes show it: the task definitions, their layout (waves,
critical path, overlap groups) and, before the parallel stage freezes the plan, a preview
of PLAN.md as it stands (or why it cannot be read).

Immutable: each change of the plan (the engine's plan, a preview, a freeze, a reload) is a
new PlanView, which the run screen holds as reactive data beside the folded state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core import events as ev
from ..core.models import Task
from ..core.plan import PlanError, parse_plan
from ..core.state import RunState, TaskState, task_state
from .view import DagLayout


@dataclass(frozen=True)
class PlanView:
    definitions: Mapping[str, Task] = field(default_factory=dict)
    layout: DagLayout = field(default_factory=DagLayout)
    preview: Mapping[str, TaskState] = field(default_factory=dict)  # PLAN.md, not yet frozen
    error: str = ""  # why the preview could not be read

    @classmethod
    def of_tasks(cls, tasks: Sequence[Task], extra_ids: Iterable[str] = ()) -> PlanView:
        return cls({t.id: t for t in tasks}, DagLayout.from_tasks(tasks, extra_ids))

    @classmethod
    def at_start(cls, plan_tasks: Sequence[Task], state: RunState) -> PlanView:
        """The engine's plan (a resumed run), else the waves the state remembers."""
        if plan_tasks:
            return cls.of_tasks(plan_tasks, state.tasks)
        layout = DagLayout.from_waves(state.tasks, state.waves, state.critical_path)
        return cls(layout=layout)

    @classmethod
    def preview_of(cls, plan_path: Path, tag: str | None) -> PlanView:
        """PLAN.md as it stands, before the parallel stage freezes it."""
        try:
            plan = parse_plan(plan_path, tag)
        except PlanError as exc:
            return cls(error=str(exc.problems[0]) if exc.problems else str(exc))
        except OSError as exc:
            return cls(error=f"cannot read the plan: {exc}")
        view = cls.of_tasks(plan.tasks)
        return cls(view.definitions, view.layout, {t.id: task_state(t) for t in plan.tasks})

    def frozen(self, event: ev.PlanFrozen, state: RunState) -> PlanView:
        layout = DagLayout.from_waves(state.tasks, event.waves, event.critical_path, event.overlaps)
        return PlanView({t.id: t for t in event.tasks}, layout)

    def reloaded(self, event: ev.PlanReloaded, state: RunState) -> PlanView:
        if event.error:
            return self  # the last good plan stays
        if not event.tasks:
            return PlanView(self.definitions, self.layout)
        return PlanView.of_tasks(event.tasks, state.tasks)

    def tasks(self, state: RunState) -> Mapping[str, TaskState]:
        """What the task panes list: the run's tasks, else the preview."""
        return state.tasks or self.preview

    def previewing(self, state: RunState) -> bool:
        return bool(self.preview) and not state.tasks
