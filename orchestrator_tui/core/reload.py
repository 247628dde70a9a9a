"""Live reload: watch PLAN.md and CLAUDE.md, and fold a plan edit into a running plan."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import events as ev
from .graph import check_graph
from .models import Plan, StageName, StageStatus, TaskStatus
from .plan import PlanError, parse_plan
from .state import RunState
from .system import changed_sections, load_system

if TYPE_CHECKING:
    from .pipeline import Engine

DEBOUNCE_MS = 50


class PlanWatcher:
    """Watches the directories of the given files (editors save by rename) and calls
    `on_change(file name)` for each changed file, from its own thread."""

    def __init__(self, files: Sequence[Path], on_change: Callable[[str], None]) -> None:
        self.files = [f.resolve() for f in files]
        self.on_change = on_change
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self.loop, name="plan-watcher", daemon=True)
        self.thread.start()

    def loop(self) -> None:
        from watchfiles import watch

        names = {f.name for f in self.files}
        watched = {str(f) for f in self.files}
        dirs = sorted({str(f.parent) for f in self.files if f.parent.is_dir()})
        if not dirs:
            return
        for changes in watch(
            *dirs,
            watch_filter=lambda _change, path: path in watched,
            stop_event=self.stop_event,
            debounce=DEBOUNCE_MS,
            step=20,
            rust_timeout=200,
            yield_on_timeout=False,
            recursive=False,
        ):
            for name in sorted({Path(path).name for _change, path in changes} & names):
                self.on_change(name)

    def stop(self) -> None:
        self.stop_event.set()
        if self.thread:
            self.thread.join(timeout=2)


@dataclass(frozen=True)
class MergedPlan:
    plan: Plan
    diff: dict[str, tuple[str, ...]] = field(default_factory=dict)
    error: str = ""


def merge_plan_edit(current: Plan, edited: Plan, state: RunState) -> MergedPlan:
    """The plan that runs after an edit: finished tasks keep what they ran with, tasks that
    have not finished take the edit (a running one on its next attempt), and tasks removed
    from the file are dropped only if they never started."""
    old = current.by_id
    started = {
        task_id for task_id, task in state.tasks.items() if task.status != TaskStatus.PENDING
    }
    finished = {task_id for task_id, task in state.tasks.items() if task.status.resolved}
    tasks = [old[t.id] if t.id in finished and t.id in old else t for t in edited.tasks]
    kept = [t for t in current.tasks if t.id not in edited.by_id and t.id in started]
    # A new Plan, not model_copy: that would carry over the cached `by_id` of `edited`.
    merged = Plan(
        title=edited.title, goal=edited.goal, tasks=tuple(tasks + kept), source=edited.source
    )
    diff = {
        "added": tuple(t.id for t in edited.tasks if t.id not in old),
        "removed": tuple(t.id for t in current.tasks if t.id not in edited.by_id),
        "changed": tuple(t.id for t in edited.tasks if t.id in old and not old[t.id].same_as(t)),
    }
    problems = check_graph(merged.tasks)
    if problems:
        return MergedPlan(current, diff, f"{problems[0].message} ({problems[0].hint})")
    return MergedPlan(merged, diff)


EDITABLE_PLAN_STAGES = (
    StageStatus.PENDING,
    StageStatus.RUNNING,
    StageStatus.AWAITING_APPROVAL,
    StageStatus.FAILED,
)


def apply_reloads(engine: Engine) -> None:
    """From the engine's thread: act on the files the watcher saw change."""
    names: set[str] = set()
    while not engine.reloads.empty():
        names.add(engine.reloads.get_nowait())
    if engine.system_path.name in names:
        reload_system(engine)
    if engine.options.plan_path.name in names:
        reload_plan(engine)


def reload_system(engine: Engine) -> None:
    new = load_system(engine.system_path)
    changed = changed_sections(engine.system, new)
    engine.system = new
    if changed:
        engine.emit(ev.SystemReloaded(sections=tuple(changed)))


def reload_plan(engine: Engine) -> None:
    """An invalid edit is reported and the last good plan stays. Before the plan is frozen
    the edit is only shown (at the parallel gate it reruns parallel); after, tasks that have
    not finished take it from their next start."""
    try:
        edited = parse_plan(engine.options.plan_path)
    except PlanError as exc:
        first = exc.problems[0]
        more = f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        engine.emit(ev.PlanReloaded(error=f"{first}{more}"))
        return
    merged = merge_plan_edit(engine.plan or Plan(), edited, engine.state)
    parallel = engine.state.stages[StageName.PARALLEL].status
    if engine.plan is None or parallel in EDITABLE_PLAN_STAGES:
        gate = engine.state.gate
        engine.plan_edited_at_gate = gate is not None and gate.stage == StageName.PARALLEL
        engine.emit(ev.PlanReloaded(**merged.diff, tasks=edited.tasks))
        return
    if merged.error:
        engine.emit(ev.PlanReloaded(error=merged.error))
        return
    engine.plan = merged.plan
    engine.save_frozen_plan(merged.plan)
    engine.emit(ev.PlanReloaded(**merged.diff, tasks=merged.plan.tasks))
    if engine.implementer is not None:
        engine.implementer.plan_changed(merged.plan)
