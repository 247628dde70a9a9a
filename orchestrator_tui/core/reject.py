"""What a reject does at each gate: the text the reject dialog shows comes from here, so it
says what a rerun of *this* stage will do with the feedback, never a promise nothing keeps."""

from __future__ import annotations

from .config import Config
from .models import StageName

USES_DEFAULT_AGENT = (StageName.PLAN,)
SEND_BACK_STAGES = (StageName.TEST, StageName.REVIEW)


def reject_hint(
    stage: StageName,
    config: Config,
    has_runner: bool,
    fix_rounds_used: int = 0,
    sends_back: bool = True,
) -> str:
    """One or two sentences for the reject dialog at `stage`'s gate. At the test and review
    gates a reject sends back while fix rounds are left (`fix_rounds_used` of
    `[stages.test] fix_rounds`) and a task can read what it is sent (`sends_back`: not
    when every task is a shell `run:` line); otherwise it only reruns the stage."""
    agent = config.stage(stage).agent or (
        config.agents.default if stage in USES_DEFAULT_AGENT else ""
    )
    if stage in SEND_BACK_STAGES and not sends_back:
        why = "No send-back: every task is a shell `run:` line, which runs the same again. "
        return why + rerun_hint(stage, agent, has_runner)
    rounds = config.stage(StageName.TEST).fix_rounds
    if stage in SEND_BACK_STAGES and fix_rounds_used >= rounds:
        used = f"{fix_rounds_used} of {rounds} used" if rounds else "`fix_rounds = 0`"
        why = f"No send-back: no fix rounds left ({used}; `[stages.test] fix_rounds`). "
        return why + rerun_hint(stage, agent, has_runner)
    if stage in SEND_BACK_STAGES:
        return (
            "Send back: the tasks that own the failures rerun with this text and the "
            "failure output in their prompt (what no task owns becomes a fix task), then "
            f"the {stage.value} stage runs again. ctrl+s sends, esc cancels."
        )
    if stage == StageName.IMPLEMENT:
        return (
            "The tasks this text names (every done task when it names none) run again with "
            "it in their prompt. ctrl+s sends, esc cancels."
        )
    return rerun_hint(stage, agent, has_runner)


def rerun_hint(stage: StageName, agent: str, has_runner: bool) -> str:
    """What a plain rerun of `stage` does with the text."""
    if agent and has_runner:
        return (
            f"The rerun gives this text to the {stage.value} stage's agent ({agent}) in its "
            "prompt. ctrl+s sends, esc cancels."
        )
    return (
        f"Nothing uses this text: the {stage.value} stage has no agent, so a rerun gives the "
        "same result. Choose retry (after fixing the cause) or skip; esc cancels."
    )
