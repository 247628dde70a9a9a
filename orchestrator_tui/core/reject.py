"""What a reject does at each gate: the text the reject dialog shows comes from here, so it
says what a rerun of *this* stage will do with the feedback, never a promise nothing keeps."""

from __future__ import annotations

from .config import Config
from .models import StageName

USES_DEFAULT_AGENT = (StageName.PLAN,)
SEND_BACK_STAGES = (StageName.TEST, StageName.REVIEW)


def reject_hint(stage: StageName, config: Config, has_runner: bool) -> str:
    """One or two sentences for the reject dialog at `stage`'s gate."""
    agent = config.stage(stage).agent or (
        config.agents.default if stage in USES_DEFAULT_AGENT else ""
    )
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
    if agent and has_runner:
        return (
            f"The rerun gives this text to the {stage.value} stage's agent ({agent}) in its "
            "prompt. ctrl+s sends, esc cancels."
        )
    return (
        f"Nothing uses this text: the {stage.value} stage has no agent, so a rerun gives the "
        "same result. Choose retry (after fixing the cause) or skip; esc cancels."
    )
