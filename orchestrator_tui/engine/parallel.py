"""The parallel stage, the engine's own: parse and validate the plan, compute its schedule
(waves, critical path, overlap groups), freeze it for implement and show it at the gate,
with the preflight of the agent programs its tasks will use (preflight.py)."""

from __future__ import annotations

from ..core import events as ev
from ..core.models import Plan
from ..core.plan import PlanError, parse_plan
from ..core.plan_edit import merge_plan_edit
from ..core.protocols import StageResult
from ..core.scheduler import schedule
from .context import EngineCore
from .preflight import check_programs


def parallel_stage(engine: EngineCore) -> StageResult:
    try:
        plan = parse_plan(engine.options.plan_path, engine.config.run.taskmaster_tag or None)
    except PlanError as exc:
        lines = "\n".join(f"- {p}" for p in exc.problems)
        return StageResult(
            ok=False,
            summary=f"{engine.config.run.plan} has {len(exc.problems)} problem(s)",
            details=f"Fix the plan, then retry:\n\n{lines}",
            evidence={"errors": [str(p) for p in exc.problems]},
        )
    plan = keep_started_work(engine, plan)
    engine.plan = plan
    engine.save_frozen_plan(plan)
    shape = schedule(plan.tasks)
    engine.emit(
        ev.PlanFrozen(
            tasks=plan.tasks,
            waves=shape.waves,
            critical_path=shape.critical_path,
            overlaps=shape.overlaps,
        )
    )
    details = [
        f"**{len(plan.tasks)} tasks** in **{len(shape.waves)} waves**; "
        f"up to {engine.concurrency} agents at once.",
        "",
        *(f"- wave {n + 1}: {', '.join(wave)}" for n, wave in enumerate(shape.waves)),
        "",
        f"Critical path: {' → '.join(shape.critical_path)}",
        "",
        f"Runs first: {', '.join(shape.first)}",
    ]
    for group in shape.overlaps:
        details += ["", f"Overlap (never side by side): {', '.join(group)}"]
    checked = check_programs(plan.tasks, engine.state, engine.config, engine.programs)
    if checked.lines:
        details += ["", *checked.lines]
    summary = (
        f"{len(plan.tasks)} tasks, {len(shape.waves)} waves, "
        f"critical path {len(shape.critical_path)}"
    )
    if checked.blockers:
        summary += f"; {len(checked.blockers)} agent problem{'s' * (len(checked.blockers) != 1)}"
    return StageResult(
        ok=True,
        summary=summary,
        details="\n".join(details),
        evidence={
            "tasks": len(plan.tasks),
            "waves": shape.waves,
            "critical_path": shape.critical_path,
            "overlaps": shape.overlaps,
            "agents": list(checked.evidence),
        },
        blockers=checked.blockers,
    )


def keep_started_work(engine: EngineCore, plan: Plan) -> Plan:
    """On a re-run of parallel, tasks that already ran keep the definition they ran with."""
    if engine.plan is None:
        return plan
    return merge_plan_edit(engine.plan, plan, engine.state).plan
