"""The optional agent step of a built-in stage: its prompt, and running it safely.

A stage's agent gets the stage's instructions from CLAUDE.md, the run goal, what the
built-in part found (the map, the findings, the failures…), paths it may need, and any
feedback from a reject. Its final message is its report.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.protocols import AgentResult, StageContext
from ..engine.pipeline import Cancelled

MAX_SECTION_CHARS = 60_000


def stage_agent_profile(ctx: StageContext, use_default: bool = False) -> str:
    """The profile configured for this stage's agent; '' when it has none.

    With `use_default`, a stage without its own agent uses the run's default profile
    (the plan stage does: writing a plan from a goal needs an agent)."""
    profile = ctx.config.stage(ctx.stage).agent
    if not profile and use_default:
        profile = ctx.config.agents.default
    return profile


def stage_prompt(ctx: StageContext, sections: Sequence[tuple[str, str]]) -> str:
    """CLAUDE.md's stage instructions + the goal + the stage's own sections + feedback."""
    parts = [
        f"# Stage {ctx.stage.number}: {ctx.stage.title} (run {ctx.run_id})",
        "",
        "## Instructions (from CLAUDE.md: this stage's section, then the general rules)",
        ctx.instructions.strip() or f"Do the {ctx.stage.value} stage of this run.",
        "",
        "## The run's goal",
        goal_text(ctx) or "(none given)",
        "",
        "## Paths",
        f"Workspace: {ctx.workspace}",
        f"Run directory (reports): {ctx.run_dir}",
    ]
    for title, body in sections:
        text = body.strip() or "(empty)"
        if len(text) > MAX_SECTION_CHARS:
            text = text[:MAX_SECTION_CHARS] + f"\n[cut at {MAX_SECTION_CHARS:,} characters]"
        parts += ["", f"## {title}", text]
    if ctx.feedback:
        parts += ["", "## Feedback from the reviewer (address every point)", ctx.feedback]
    return "\n".join(parts) + "\n"


def goal_text(ctx: StageContext) -> str:
    pieces = [ctx.goal]
    if ctx.plan is not None:
        pieces = [ctx.plan.title, ctx.plan.goal, ctx.goal]
    return "\n\n".join(p.strip() for p in pieces if p and p.strip())


def run_stage_agent(ctx: StageContext, profile: str, prompt: str) -> AgentResult:
    """Run the stage's agent; a crash in the backend becomes a failed result, a stop of the
    engine raises Cancelled (the stage runs again on resume)."""
    try:
        result = ctx.run_agent(prompt, profile)
    except Cancelled:
        raise
    except Exception as exc:  # the stage must report, not crash, when its agent breaks
        return AgentResult(
            ok=False, reason=f"agent crashed: {type(exc).__name__}: {exc}", exit_code=None
        )
    if not result.ok and ctx.cancel.is_set():
        raise Cancelled
    return result


def agent_failure(profile: str, result: AgentResult) -> str:
    return f"the {profile} agent failed ({result.reason})"
