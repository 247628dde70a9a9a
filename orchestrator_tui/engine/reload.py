"""Live reload: watch PLAN.md, CLAUDE.md and .orchestrator/config.toml; fold a plan edit into a
running plan, and take edited agent profiles for the tasks that start next."""

from __future__ import annotations

from ..core import events as ev
from ..core.config import CONFIG_PATH, ConfigError, load_config
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
    if CONFIG_PATH.name in names:
        reload_config(engine)


def reload_config(engine: EngineCore) -> None:
    """config.toml was saved. Its agent profiles hold from the next task started on (so a
    profile fixed after "executable not found" works on a retry); a change elsewhere waits
    for the next run, and a broken file changes nothing — each said in a notice."""
    try:
        new = load_config(engine.options.workspace)
    except ConfigError as exc:
        engine.emit(ev.Notice(level="warning", text=f"config.toml not reloaded: {exc}"))
        return
    old = engine.config
    later = [
        name
        for name in type(old).model_fields
        if name != "agents" and getattr(new, name) != getattr(old, name)
    ]
    if new.agents != old.agents:
        engine.config = old.model_copy(update={"agents": new.agents})
        text = "config.toml: agent profiles reloaded; tasks that start from now on use them"
        engine.emit(ev.Notice(level="info", text=text))
    if later:
        text = f"config.toml: [{'], ['.join(later)}] take effect in the next run"
        engine.emit(ev.Notice(level="info", text=text))


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
