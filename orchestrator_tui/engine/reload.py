"""Live reload: watch PLAN.md and CLAUDE.md, and fold a plan edit into a running plan."""

from __future__ import annotations

from ..core import events as ev
from ..core.models import Plan, StageName, StageStatus
from ..core.plan import PlanError, parse_plan
from ..core.plan_edit import merge_plan_edit
from ..core.system import changed_sections, load_system
from .context import EngineCore

EDITABLE_PLAN_STAGES = (
    StageStatus.PENDING,
    StageStatus.RUNNING,
    StageStatus.AWAITING_APPROVAL,
    StageStatus.FAILED,
)


def apply_reloads(engine: EngineCore) -> None:
    """From the engine's thread: act on the files the watcher saw change."""
    names, engine.changed_files = engine.changed_files, set()
    if engine.system_path.name in names:
        reload_system(engine)
    if engine.options.plan_path.name in names:
        reload_plan(engine)


def reload_system(engine: EngineCore) -> None:
    new = load_system(engine.system_path)
    changed = changed_sections(engine.system, new)
    engine.system = new
    if changed:
        engine.emit(ev.SystemReloaded(sections=tuple(changed)))
    for problem in new.problems:  # a broken stage heading, said the moment it is saved
        engine.emit(ev.Notice(level="warning", text=problem))


def reload_plan(engine: EngineCore) -> None:
    """An invalid edit is reported and the last good plan stays. Before the plan is frozen
    the edit is only shown (at the parallel gate it reruns parallel); after, tasks that have
    not finished take it from their next start."""
    try:
        edited = parse_plan(engine.options.plan_path, engine.config.run.taskmaster_tag or None)
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
