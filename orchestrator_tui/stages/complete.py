"""Stage 9, complete: the final validation and the session summary, summary.md.

Validation: every task done and merged, tests green (from the test stage's evidence), no
high-severity finding left unaccepted, review not "changes requested". What a person chose
to skip is listed under "What is left" rather than failing the run twice. The summary
collects every stage's evidence: goal, stage timeline with durations and who approved,
tasks with agent, duration, attempts, tokens, cost and files, test counts, findings, the
review verdict, retries, and what is left.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..core import events as ev
from ..core.models import STAGES, StageName, StageStatus, TaskStatus
from ..core.protocols import StageContext, StageResult
from ..core.state import RunState
from ..infra.fsutil import atomic_write
from ..infra.store import read_events
from ..infra.workspace import land_run_branch, run_checkout
from .changes import branch_checkout, branch_exists, git, plan_tasks, run_branch, stage_agents
from .plan import md_cell
from .retest import retest_at_head
from .stage_agent import agent_failure, run_stage_agent, stage_agent_profile, stage_prompt


@dataclass
class TaskHistory:
    """A task's attempts as the event log tells them."""

    duration: float = 0.0
    failed_attempts: list[str] = field(default_factory=list)


def task_histories(ctx: StageContext) -> dict[str, TaskHistory]:
    histories: dict[str, TaskHistory] = {}
    finished = frozenset({"task_finished"})
    for event in read_events(ctx.run_dir / "events.jsonl", kinds=finished).events:
        if isinstance(event, ev.TaskFinished):
            history = histories.setdefault(event.task, TaskHistory())
            history.duration += event.duration
            if event.status == "failed":
                history.failed_attempts.append(f"attempt {event.attempt}: {event.reason}")
    return histories


def person_approver(ctx: StageContext, stage: StageName) -> str:
    """Who last approved `stage` at its gate themselves (not the engine or auto-approve)."""
    found = ""
    decided = frozenset({"gate_decided"})
    for event in read_events(ctx.run_dir / "events.jsonl", kinds=decided).events:
        if not isinstance(event, ev.GateDecided) or event.stage != stage:
            continue
        if event.decision == "approve" and event.by not in ("engine", "auto"):
            found = event.by
    return found


def evidence_of(state: RunState, stage: StageName) -> dict[str, Any]:
    evidence = state.stages[stage].evidence
    return evidence if isinstance(evidence, dict) else {}


def seconds(value: float) -> str:
    if value <= 0:
        return "—"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(int(value), 60)
    return f"{minutes} min {rest:02d} s"


@dataclass
class Validation:
    checks: list[tuple[bool, str]] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [text for ok, text in self.checks if not ok]

    def check(self, ok: bool, text: str) -> None:
        self.checks.append((ok, text))


def validate(ctx: StageContext, branch: str) -> Validation:
    state = ctx.state
    result = Validation()
    tasks = plan_tasks(state)
    done = [t for t in tasks if t.status == TaskStatus.DONE]
    unresolved = [t for t in tasks if not t.status.resolved]
    unmerged = [t for t in done if not t.merged]
    skipped_tasks = [t for t in tasks if t.status == TaskStatus.SKIPPED]
    result.check(
        not unresolved and not unmerged,
        f"tasks done and merged: {len(done) - len(unmerged)}/{len(tasks)}"
        + "".join(f"; {t.id} {t.status}" for t in unresolved)
        + "".join(f"; {t.id} not merged" for t in unmerged),
    )
    result.left += [f"task {t.id} was skipped: {t.reason or 'by the user'}" for t in skipped_tasks]

    test_stage = state.stages[StageName.TEST]
    tests = evidence_of(state, StageName.TEST)
    if not tests.get("ran"):
        why = "skipped" if test_stage.status == StageStatus.SKIPPED else tests.get("reason", "")
        result.left.append(f"no tests ran ({why or 'the test stage did not run'})")
    else:
        failed = int(tests.get("failed", 0)) + int(tests.get("errors", 0))
        green = failed == 0 and not tests.get("problem")
        counts = f"{tests.get('passed', '?')} passed, {failed} failed or errors"
        if tests.get("commit"):
            counts += f" at {str(tests['commit'])[:10]}"  # the commit the tests judged
        if tests.get("retest_of"):
            since = len(tests.get("commits_since") or [])
            counts += f" (run again: {since} commit(s) after {str(tests['retest_of'])[:10]})"
        result.check(green, f"tests green: {counts}" if green else f"tests not green: {counts}")

    security = state.stages[StageName.SECURITY]
    findings = evidence_of(state, StageName.SECURITY)
    tally = findings.get("counts") or {}
    high = int(tally.get("high", 0))
    accepted = findings.get("allow_high") or security.decided_by not in ("", "auto")
    accepted_by = security.decided_by or "config"
    if accepted_by == "engine":  # a fix round passed it unchanged: say who approved it
        person = person_approver(ctx, StageName.SECURITY)
        accepted_by = f"{person}; nothing new in the fix rounds" if person else accepted_by
    if security.status == StageStatus.SKIPPED:
        result.left.append("the security scan was skipped")
    result.check(
        high == 0 or bool(accepted and security.status != StageStatus.SKIPPED),
        f"high-severity findings: {high}"
        + (f" (accepted by {accepted_by})" if high and accepted else ""),
    )
    if int(tally.get("medium", 0)):
        result.left.append(f"{tally['medium']} medium-severity finding(s) to look at")
    result.left += [f"scanner: {s}" for s in findings.get("skipped", [])]

    review = evidence_of(state, StageName.REVIEW)
    verdict = review.get("verdict", "")
    result.check(verdict != "changes requested", f"review: {verdict or 'coverage only'}")
    for task, files in (review.get("scope_creep") or {}).items():
        result.left.append(f"scope creep in {task}: {', '.join(files)}")

    cleanup = evidence_of(state, StageName.CLEANUP)
    if cleanup.get("remaining"):
        issues = "; ".join(str(i) for i in (cleanup.get("remaining_issues") or [])[:5])
        result.left.append(
            f"{cleanup['remaining']} lint issue(s) ruff could not fix"
            + (f": {issues}" if issues else "")
        )
    if cleanup.get("dead_code"):
        result.left.append(f"{len(cleanup['dead_code'])} possible dead-code item(s) (vulture)")
    for stage in STAGES[:-1]:
        if state.stages[stage].status == StageStatus.SKIPPED:
            result.left.append(f"the {stage} stage was skipped")
    return result


def render(ctx: StageContext, validation: Validation, branch: str, landed: str) -> str:
    state = ctx.state
    plan = ctx.plan
    title = (plan.title if plan else "") or "Run summary"
    goal = "\n\n".join(p for p in (ctx.goal, plan.goal if plan else "") if p) or "(none given)"
    elapsed = time.time() - state.started_at if state.started_at else 0.0
    verdict = "ready" if not validation.problems else "NOT ready"
    lines = [
        f"# {title}",
        "",
        f"Run `{ctx.run_id}` in `{ctx.workspace}`; took {seconds(elapsed)}; **{verdict}**.",
        *([f"Git: {landed}."] if landed else []),
        "",
        "## Goal",
        "",
        goal,
        "",
        "## Validation",
        "",
        *(f"- [{'x' if ok else ' '}] {text}" for ok, text in validation.checks),
        "",
        "## Stages",
        "",
        "| # | stage | status | duration | approved by | summary |",
        "|---:|---|---|---:|---|---|",
    ]
    for stage in STAGES:
        s = state.stages[stage]
        # This stage ends by writing the summary: it is done when the summary is read.
        status = "done" if stage == ctx.stage else str(s.status)
        if s.attempt > 1:
            status += f" ({s.attempt} runs)"
        took = seconds(s.elapsed) if s.finished_at else "—"
        summary = " ".join(s.summary.split()).replace("|", "\\|")[:140]
        lines.append(
            f"| {stage.number} | {stage.title} | {status} | {took} | {s.decided_by or '—'} | "
            f"{summary} |"
        )
    lines += task_section(ctx)
    lines += test_section(state)
    lines += findings_section(state)
    cleanup = evidence_of(state, StageName.CLEANUP)
    if cleanup.get("changed"):
        tidied = ", ".join(f"`{name}`" for name in cleanup["changed"])
        lines += ["", "## Cleanup", "", f"Tidied: {tidied}."]
    review = evidence_of(state, StageName.REVIEW)
    lines += ["", "## Review", "", f"Verdict: {review.get('verdict') or 'none (coverage only)'}"]
    lines += ["", "## What is left", ""]
    lines += [f"- {item}" for item in validation.left] or ["- nothing"]
    reports = [
        name
        for name in ("analysis.md", "security.sarif", "junit.xml", "review.md")
        if (ctx.run_dir / name).is_file()
    ]
    lines += ["", "## Reports", "", *(f"- `{ctx.run_dir / name}`" for name in reports)]
    return "\n".join(lines) + "\n"


def task_section(ctx: StageContext) -> list[str]:
    state = ctx.state
    histories = task_histories(ctx)
    lines = [
        "",
        "## Tasks",
        "",
        "| task | title | agent | status | attempts | duration | tokens | cost | files |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    tasks = plan_tasks(state)
    for task in tasks:
        history = histories.get(task.id, TaskHistory())
        took = history.duration or max(task.finished_at - task.started_at, 0.0)
        lines.append(
            f"| {md_cell(task.id)} | {md_cell(task.title)} | {md_cell(task.agent) or '—'} "
            f"| {task.status} | {task.attempt} "
            f"| {seconds(took)} | {task.tokens:,} | ${task.cost_usd:.4f} | "
            f"{len(task.changed_files)} |"
        )
    for agent in stage_agents(state):
        lines.append(
            f"| {agent.id} | the stage's own agent | — | — | — | — | {agent.tokens:,} | "
            f"${agent.cost_usd:.4f} | — |"
        )
    lines.append(
        f"| **total** | | | | {sum(t.attempt for t in tasks)} | | "
        f"{state.input_tokens + state.output_tokens:,} | ${state.cost_usd:.4f} | |"
    )
    retried = {t: h for t, h in histories.items() if h.failed_attempts}
    if retried:
        lines += ["", "### Retries", ""]
        for task_id, history in retried.items():
            final = state.tasks.get(task_id)
            end = f"; then {final.status} on attempt {final.attempt}" if final else ""
            lines.append(f"- {task_id}: " + "; ".join(history.failed_attempts) + end)
    return lines


def test_section(state: RunState) -> list[str]:
    tests = evidence_of(state, StageName.TEST)
    lines = ["", "## Tests", ""]
    if not tests.get("ran"):
        return [*lines, f"No tests ran ({tests.get('reason') or 'the stage did not run'})."]
    lines.append(
        f"`{tests.get('command', '?')}`: {tests.get('passed', '?')} passed, "
        f"{tests.get('failed', '?')} failed, {tests.get('errors', 0)} errors, "
        f"{tests.get('skipped', 0)} skipped ({tests.get('seconds', '?')} s)."
    )
    for failure in tests.get("failures", [])[:20]:
        first = (failure.get("message") or "").splitlines()[:1]
        lines.append(f"- {failure.get('name')}: {first[0] if first else ''}")
    return lines


def findings_section(state: RunState) -> list[str]:
    security = evidence_of(state, StageName.SECURITY)
    tally = security.get("counts") or {}
    lines = ["", "## Security findings", ""]
    if not security:
        return [*lines, "The security stage did not run."]
    scanners = ", ".join(security.get("scanners", [])) or "none"
    lines.append(
        f"{tally.get('high', 0)} high, {tally.get('medium', 0)} medium, "
        f"{tally.get('low', 0)} low in the run's changes (scanners: {scanners})."
    )
    old = security.get("pre_existing_counts") or {}
    if security.get("pre_existing"):
        lines.append(
            f"Pre-existing, on lines the run did not change (not counted): "
            f"{old.get('high', 0)} high, {old.get('medium', 0)} medium, {old.get('low', 0)} low."
        )
    for finding in security.get("findings", [])[:20]:
        where = f"{finding.get('file')}:{finding.get('line')}"
        lines.append(
            f"- {finding.get('severity')} — {finding.get('tool')} {finding.get('rule')} at "
            f"`{where}`: {finding.get('message')}"
        )
    return lines


def uncommitted_files(ctx: StageContext, branch: str) -> list[str]:
    """Tracked files changed but not committed in the run branch's checkout (a stage's
    edits that would not land). A checkout a kill left half-made (no index: every file
    would look deleted) is read back from the branch first, never judged as it is (D)."""
    checkout = branch_checkout(ctx.workspace, branch)
    if checkout is None or checkout.resolve() == ctx.workspace.resolve():
        return []
    checkout = run_checkout(ctx.workspace, ctx.run_id)  # repaired (infra/gitsteps.py)
    diff = git(checkout, "diff", "--name-only", "HEAD")
    return sorted(line for line in diff.output.splitlines() if line)[:20]


class CompleteRunner:
    """The built-in complete stage."""

    def run(self, ctx: StageContext) -> StageResult:
        branch = run_branch(ctx.run_id)
        branch = branch if branch_exists(ctx.workspace, branch) else ""
        ctx, retested = retest_at_head(ctx)  # "tests green" is about the commit that lands
        validation = validate(ctx, branch)
        landed = ""
        if branch:
            uncommitted = uncommitted_files(ctx, branch)
            validation.check(
                not uncommitted,
                f"everything committed on `{branch}`"
                if not uncommitted
                else f"uncommitted changes in `{branch}`'s checkout: {', '.join(uncommitted)}",
            )
        if branch and not validation.problems:
            ok, landed = land_run_branch(ctx.workspace, ctx.run_id)
            # checked: the user's branch is at the run branch, or the run is not ready
            validation.check(ok, landed if ok else f"not landed: {landed}")
        elif branch:
            validation.left.append(f"the run's work is on branch `{branch}` (not merged)")
        text = render(ctx, validation, branch, landed)
        profile = stage_agent_profile(ctx)
        agent_problem = ""
        if profile:
            result = run_stage_agent(ctx, profile, stage_prompt(ctx, [("The summary", text)]))
            if result.ok:
                text += f"\n## Notes by {profile}\n\n{result.final_text.strip()}\n"
            else:
                agent_problem = agent_failure(profile, result)
        path = ctx.run_dir / "summary.md"
        atomic_write(path, text)
        state = ctx.state
        tests = evidence_of(state, StageName.TEST)
        retries = {t.id: t.attempt for t in plan_tasks(state) if t.attempt > 1}
        evidence = {
            "summary_path": str(path),
            "landed": landed,
            "ready": not validation.problems,
            "problems": validation.problems,
            "left": validation.left,
            "tests": {k: tests.get(k) for k in ("passed", "failed", "errors", "skipped")},
            "findings": evidence_of(state, StageName.SECURITY).get("counts", {}),
            "verdict": evidence_of(state, StageName.REVIEW).get("verdict", ""),
            "retries": retries,
            "retest": retested,
            "cost_usd": round(state.cost_usd, 6),
            "tokens": state.input_tokens + state.output_tokens,
        }
        tasks = plan_tasks(state)
        done = sum(1 for t in tasks if t.status == TaskStatus.DONE)
        summary = f"{done}/{len(tasks)} tasks done; summary in {path.name}"
        if validation.problems:
            return StageResult(
                ok=False,
                summary="not ready: " + "; ".join(validation.problems),
                details=text,
                evidence=evidence,
            )
        if agent_problem:
            return StageResult(
                ok=False, summary=f"{summary}; {agent_problem}", details=text, evidence=evidence
            )
        return StageResult(ok=True, summary=summary, details=text, evidence=evidence)
