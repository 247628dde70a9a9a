"""The engine's side of the fix loop (the rules are core/fix_map.py): gather the facts of a
send-back from the state and the plan, emit the round's events, add a fix task to the
frozen plan when one is needed. Called from the stage loop when the test or review gate
is rejected (by the user, or by the engine itself when that gate is auto-approved)."""

from __future__ import annotations

from ..core import fix_map
from ..core.decisions import Decision, refuse
from ..core.events import FixRoundStarted, GateDecided
from ..core.fix_map import SEND_BACK_STAGES, Owner, SendBackFacts
from ..core.models import Plan, StageName, StageStatus
from ..infra.workspace import worktree_branches
from .context import EngineCore


def max_rounds(engine: EngineCore) -> int:
    return engine.config.stage(StageName.TEST).fix_rounds


def owners(engine: EngineCore) -> dict[str, Owner]:
    plan = engine.plan
    found = {}
    for task_id, task in engine.state.tasks.items():
        declared = plan.by_id[task_id].files if plan and task_id in plan.by_id else task.files
        found[task_id] = Owner(changed=task.changed_files, declared=declared)
    return found


def run_checkout(engine: EngineCore) -> str:
    """Where the run branch is checked out ('' when nowhere)."""
    if engine.files is None:
        return ""
    branch = f"refs/heads/orch/{engine.files.run_id}"
    try:
        places = worktree_branches(engine.options.workspace)
    except Exception:  # not a repository, or git missing: no checkout
        return ""
    for path, name in places.items():
        if name in (branch, branch.removeprefix("refs/heads/")):
            return str(path)
    return ""


def auto_send_back(engine: EngineCore, stage: StageName, auto: bool) -> bool:
    """At an auto-approved test or review gate that failed with failures to map: send back
    without asking, while rounds are left (headless `--fix-rounds N`)."""
    state = engine.state.stages[stage]
    if not auto or stage not in SEND_BACK_STAGES or state.status != StageStatus.FAILED:
        return False
    planned = plan_round(engine, stage, "")
    if not planned.reply.ok:  # say why it stops here instead of sending back again
        engine.notice(
            "warning",
            f"{stage.value} failed at an auto-approved gate; no send-back: {planned.reply.message}",
        )
        return False
    engine.emit(GateDecided(stage=stage, decision="reject", feedback="", by="engine"))
    engine.notice("info", f"{stage.value} failed at an auto-approved gate: sending back")
    return True


def pass_unchanged(engine: EngineCore, stage: StageName) -> bool:
    """In a fix round, a gate whose stage found nothing new since the user approved it
    passes without asking a second time (security's same findings)."""
    reason = fix_map.unchanged_since_approval(engine.state, stage)
    if not reason:
        return False
    engine.emit(GateDecided(stage=stage, decision="approve", feedback=reason, by="engine"))
    engine.notice("info", f"{stage.value}: {reason}")
    return True


def plan_round(engine: EngineCore, stage: StageName, user_text: str) -> Decision:
    stage_state = engine.state.stages[stage]
    plan_ids = tuple(engine.plan.by_id) if engine.plan else tuple(engine.state.tasks)
    roots = tuple(r for r in (run_checkout(engine), str(engine.options.workspace)) if r)
    facts = SendBackFacts(
        stage=stage,
        evidence=stage_state.evidence or {},
        plan_ids=plan_ids,
        owners=owners(engine),
        max_rounds=max_rounds(engine),
        user_text=user_text,
        roots=roots,
    )
    decision = fix_map.send_back(engine.state, facts)
    started = decision.events[0] if decision.events else None
    if isinstance(started, FixRoundStarted) and not reads_feedback(engine, started):
        return refuse(
            "the tasks it would send back run shell `run:` lines, which do not read "
            "feedback (a fix task would have none): fix the cause and retry"
        )
    return decision


def reads_feedback(engine: EngineCore, started: FixRoundStarted) -> bool:
    """Can any task of the round act on its feedback (core/fix_map.py)?"""
    plan = engine.plan.by_id if engine.plan else {}
    extra = {started.fix_task.id: started.fix_task} if started.fix_task else {}
    tasks = [extra.get(t) or plan.get(t) for t in {*started.tasks, *extra}]
    return fix_map.reads_feedback(engine.config, tasks)


def plan_reads_feedback(engine: EngineCore) -> bool:
    """Could a send-back reach a task that reads it (the reject dialog says so)?"""
    return engine.plan is None or fix_map.reads_feedback(engine.config, engine.plan.tasks)


def send_back(engine: EngineCore, stage: StageName) -> bool:
    """One fix round from `stage`'s reject; False (with a notice) when none is possible."""
    if stage not in SEND_BACK_STAGES:
        return False
    stage_state = engine.state.stages[stage]
    user_text = stage_state.feedback if stage_state.decided_by != "engine" else ""
    decision = plan_round(engine, stage, user_text)
    if not decision.reply.ok:
        engine.notice("warning", f"no send-back: {decision.reply.message}; the stage reruns")
        return False
    started = decision.events[0]
    if isinstance(started, FixRoundStarted) and started.fix_task and engine.plan is not None:
        plan = engine.plan
        tasks = (*plan.tasks, started.fix_task)
        # a new Plan, not model_copy: that would keep the old plan's cached `by_id`
        engine.plan = Plan(title=plan.title, goal=plan.goal, tasks=tasks, source=plan.source)
        engine.save_frozen_plan(engine.plan)
    engine.emit_all(decision.events)
    engine.notice("info", decision.reply.message)
    return True
