"""The tests once more at the run branch's head, when commits came after the test stage
judged it — cleanup's formatting, a review or cleanup agent's edits. Without this,
summary.md said "tests green" about an earlier commit than the one that lands (seen on a
real repository: cleanup reformatted five files after the tests and the user's branch was
fast-forwarded to the untested commit)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.models import StageName
from ..core.protocols import StageContext
from ..core.state import update_stage
from .changes import branch_checkout, git, run_branch
from .snapshot import head
from .testing import TestRunner


def commits_since(checkout_root: Path, base: str, tip: str) -> list[str]:
    """The subjects of the commits from `base` (excluded) to `tip`, oldest first."""
    log = git(checkout_root, "log", "--reverse", "--format=%h %s", f"{base}..{tip}")
    return [line for line in log.output.splitlines() if line] if log.ok else []


def retest_at_head(ctx: StageContext) -> tuple[StageContext, dict[str, Any]]:
    """`ctx` whose test evidence is about the run branch's head — the suite run again there
    (without the test stage's agent) when the head moved since the tests judged it — and
    what was done ({} when nothing needed doing)."""
    tests = ctx.state.stages[StageName.TEST].evidence or {}
    judged = str(tests.get("commit") or "")
    if not tests.get("ran") or not judged:
        return ctx, {}
    checkout = branch_checkout(ctx.workspace, run_branch(ctx.run_id))
    if checkout is None:
        return ctx, {}
    tip = head(checkout)
    if not tip or tip == judged:
        return ctx, {}
    since = commits_since(checkout, judged, tip)
    ctx.notice(
        "info",
        f"{len(since)} commit(s) after the tests judged {judged[:10]} "
        f"({'; '.join(since[:3])}): the suite runs again at {tip[:10]}",
    )
    result = TestRunner(use_agent=False).run(replace(ctx, stage=StageName.TEST))
    evidence = {
        **result.evidence,
        "retest_of": judged,
        "commits_since": since,
        "retest_summary": result.summary,
    }
    state = update_stage(ctx.state, StageName.TEST, evidence=evidence)
    done = {"from": judged, "to": str(evidence.get("commit") or tip), "commits": since}
    done["ok"] = result.ok
    done["summary"] = result.summary
    return replace(ctx, state=state), done
