"""Running one stage: the engine's own (parallel, implement) on the engine thread, a stage
runner in a worker thread while the engine keeps handling inputs, and the stage's
StageFinished with what it found (a runner's crash becomes a failed stage, never a dead run)."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Mapping
from typing import Protocol

from ..core import events as ev
from ..core.models import STAGES, Plan, StageName, StageStatus, Task
from ..core.plan import PlanError, parse_plan
from ..core.protocols import AgentResult, StageContext, StageResult, StageRunner
from ..core.reject import reject_hint
from ..infra.fsutil import DiskError
from . import inputs as inp
from .agent_job import run_single_agent
from .context import Cancelled, EngineCore
from .fix_loop import run_checkout
from .implement import Implementer
from .parallel import parallel_stage

ENGINE_STAGES = (StageName.PARALLEL, StageName.IMPLEMENT)


class StageEngine(EngineCore, Protocol):
    runners: Mapping[StageName, StageRunner]
    stage_done: inp.StageDone | None


def execute_stage(engine: StageEngine, stage: StageName) -> None:
    previous = engine.state.stages[stage]
    feedback = previous.feedback if previous.status == StageStatus.REJECTED else ""
    builtin = stage in ENGINE_STAGES or stage in engine.runners
    attempt = previous.attempt + 1
    engine.emit(ev.StageStarted(stage=stage, attempt=attempt, feedback=feedback, builtin=builtin))
    passthrough = False
    try:
        if stage == StageName.PARALLEL:
            result = parallel_stage(engine)
        elif stage == StageName.IMPLEMENT:
            engine.plan = engine.plan or try_parse_plan(engine)
            if engine.plan is None:
                result = StageResult(ok=False, summary="no valid plan: fix PLAN.md, retry")
            else:
                result = Implementer(engine, feedback).run()
        elif stage in engine.runners:
            result = run_in_worker(engine, stage, stage_context(engine, stage, feedback))
        else:
            passthrough = True
            result = StageResult(ok=True, summary="no built-in runner: passed through")
    except (Cancelled, DiskError):
        raise
    except Exception as exc:  # a stage's bug must not take the run down
        result = crashed(stage, f"{type(exc).__name__}: {exc}", traceback.format_exc())
    evidence = result.evidence
    if feedback:  # what this attempt was asked to address, and whether anything used it
        hint = reject_hint(stage, engine.config, stage in engine.runners, engine.state.fix_round)
        used = "feedback_unused" if hint.startswith("Nothing uses") else "feedback_addressed"
        evidence = {**evidence, used: feedback}
    engine.emit(
        ev.StageFinished(
            stage=stage,
            status="done" if result.ok else "failed",
            summary=result.summary,
            details=result.details,
            evidence=evidence,
            blockers=result.blockers,
            passthrough=passthrough,
        )
    )


def run_in_worker(engine: StageEngine, stage: StageName, context: StageContext) -> StageResult:
    """Run a stage runner in a thread of its own; the engine keeps handling inputs (a
    stop reaches the runner through `context.cancel`, and it returns soon)."""
    runner = engine.runners[stage]
    engine.stage_done = None

    def work() -> None:
        try:
            engine.post(inp.StageDone(stage, runner.run(context)))
        except Exception as exc:
            what = f"{type(exc).__name__}: {exc}\n" + traceback.format_exc()
            engine.post(inp.StageDone(stage, None, what))

    threading.Thread(target=work, name=f"stage-{stage.value}", daemon=True).start()
    while engine.stage_done is None:
        engine.pump(engine.options.poll_interval, stoppable=False)
    done, engine.stage_done = engine.stage_done, None
    if done.result is None:
        summary, _, trace = done.error.partition("\n")
        return crashed(stage, summary, trace)
    return done.result


def stage_context(engine: StageEngine, stage: StageName, feedback: str) -> StageContext:
    assert engine.files is not None
    plan = engine.plan
    if plan is None and stage not in (StageName.ANALYZE, StageName.PLAN):
        plan = try_parse_plan(engine)
    return StageContext(
        stage=stage,
        run_id=engine.files.run_id,
        workspace=engine.options.workspace,
        run_dir=engine.files.dir,
        config=engine.config,
        attempt=engine.state.stages[stage].attempt,
        feedback=feedback,
        instructions=engine.system.for_agent(stage),
        goal=engine.state.goal,
        plan=plan,
        state=engine.state,
        cancel=engine.stopping,
        notice=lambda level, text: engine.post(inp.NoticeInput(level, text)),
        run_agent=lambda prompt, profile: run_stage_agent(engine, stage, prompt, profile),
    )


def try_parse_plan(engine: StageEngine) -> Plan | None:
    try:
        return parse_plan(engine.options.plan_path, engine.config.run.taskmaster_tag or None)
    except PlanError:
        return None


def run_stage_agent(
    engine: StageEngine, stage: StageName, prompt: str, profile: str
) -> AgentResult:
    """From the stage runner's thread: a stage's own agent (its inputs reach us)."""
    task = Task(id=f"{stage.value}-agent", title=f"{stage.title} agent", agent=profile or None)
    workdir = (
        run_checkout(engine) if STAGES.index(stage) > STAGES.index(StageName.IMPLEMENT) else ""
    )
    return run_single_agent(engine, task, prompt, workdir)


def crashed(stage: StageName, what: str, trace: str) -> StageResult:
    return StageResult(
        ok=False, summary=f"the {stage} stage crashed: {what}", details=f"```\n{trace}```"
    )
