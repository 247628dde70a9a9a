"""Stage 8, review: plan coverage, and (with an agent) a verdict on the whole change.

Built in: each task's status and attempts, the files it touched against the files it
declared (touched outside the list = scope creep), tasks that changed nothing, and each
task's `Done when:` criteria. With `[stages.review] agent`, the agent reviews the run's diff
against PLAN.md; review.md ends in its verdict line, parsed: `Verdict: changes requested`
fails the stage, no verdict line fails it too (CLAUDE.md: other wording is no verdict).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..core.models import Plan, StageName, TaskStatus
from ..core.protocols import StageContext, StageResult
from ..core.state import TaskState
from ..infra.fsutil import atomic_write
from .changes import ChangeSet, declares, git, plan_tasks
from .detect import read_text
from .snapshot import commit_agent_work, judged_changes
from .stage_agent import agent_failure, run_stage_agent, stage_agent_profile, stage_prompt

VERDICT = re.compile(r"^[*_`\s]*verdict:\s*(approve|changes requested)[*_`.\s]*$", re.IGNORECASE)
DONE_WHEN = re.compile(r"^\s*(?:[-*]\s*)?\**done when:?\**:?\s*(.*)$", re.IGNORECASE)


def parse_verdict(text: str) -> str:
    """'approve', 'changes requested', or '' when the last line is not a verdict."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    match = VERDICT.match(lines[-1])
    return match.group(1).lower() if match else ""


def acceptance_criteria(description: str) -> list[str]:
    """The `Done when:` criteria of a task's description (a criterion may wrap onto the
    following lines, up to a blank line or a list item)."""
    found: list[str] = []
    inside = False
    for line in description.splitlines():
        match = DONE_WHEN.match(line)
        if match:
            inside = bool(match.group(1).strip())
            if inside:
                found.append(match.group(1).strip())
        elif inside and line.strip() and not line.lstrip().startswith(("-", "*", "#")):
            found[-1] += " " + line.strip()
        else:
            inside = False
    return found


@dataclass
class TaskCoverage:
    id: str
    title: str
    status: str
    attempts: int
    declared: tuple[str, ...]
    touched: tuple[str, ...]
    outside: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status == TaskStatus.DONE

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "attempts": self.attempts,
            "touched": list(self.touched),
            "scope_creep": self.outside,
        }


def touched_files(ctx: StageContext, task: TaskState) -> tuple[str, ...]:
    if task.changed_files or not task.commit:
        return task.changed_files
    shown = git(ctx.workspace, "show", "--name-only", "--format=", task.commit)
    return tuple(sorted(set(shown.output.split()))) if shown.ok else ()


def coverage(ctx: StageContext) -> list[TaskCoverage]:
    plan = ctx.plan or Plan()
    others = [t.id for t in plan_tasks(ctx.state) if t.id not in plan.by_id]
    order = [t.id for t in plan.tasks] + others
    report = []
    for task_id in order:
        state = ctx.state.tasks.get(task_id) or TaskState(id=task_id)
        declared = plan.by_id[task_id].files if task_id in plan.by_id else state.files
        description = plan.by_id[task_id].description if task_id in plan.by_id else ""
        touched = touched_files(ctx, state)
        item = TaskCoverage(
            id=task_id,
            title=state.title or (plan.by_id[task_id].title if task_id in plan.by_id else ""),
            status=str(state.status),
            attempts=state.attempt,
            declared=declared,
            touched=touched,
            criteria=acceptance_criteria(description),
        )
        if declared:
            item.outside = [f for f in touched if not declares(declared, f)]
        report.append(item)
    return report


def coverage_report(items: list[TaskCoverage], changes: ChangeSet) -> list[str]:
    lines = [
        "# Review",
        "",
        "## Plan coverage",
        "",
        "| task | status | attempts | files touched | outside declared |",
        "|---|---|---:|---|---|",
    ]
    for item in items:
        touched = ", ".join(f"`{f}`" for f in item.touched) or "—"
        outside = ", ".join(f"`{f}`" for f in item.outside) or "—"
        lines.append(f"| {item.id} | {item.status} | {item.attempts} | {touched} | {outside} |")
    creep = [i for i in items if i.outside]
    idle = [i for i in items if i.done and not i.touched]
    open_tasks = [i for i in items if not TaskStatus(i.status).resolved]
    lines += ["", "## Findings", ""]
    if not (creep or idle or open_tasks):
        lines.append("Every task is done, and each touched only the files it declared.")
    for item in open_tasks:
        lines.append(f"- {item.id} is {item.status}: its work is not in the run")
    for item in creep:
        lines.append(f"- scope creep: {item.id} touched {', '.join(item.outside)} (not declared)")
    for item in idle:
        lines.append(f"- {item.id} is done but changed no files")
    with_criteria = [i for i in items if i.criteria]
    if with_criteria:
        lines += ["", "## Acceptance criteria (check each)", ""]
        for item in with_criteria:
            lines += [f"- **{item.id}**: {c}" for c in item.criteria]
    lines += ["", f"Changed files in the run: {len(changes.files)} ({changes.source})."]
    return lines


def stage_evidence_line(ctx: StageContext, stage: StageName) -> str:
    state = ctx.state.stages[stage]
    return f"{stage.title}: {state.status}, {state.summary or 'no summary'}"


class ReviewRunner:
    """The built-in review stage."""

    def run(self, ctx: StageContext) -> StageResult:
        changes, judged = judged_changes(ctx)
        items = coverage(ctx)
        lines = [*coverage_report(items, changes), "", f"The review {judged.line()}."]
        open_tasks = [i.id for i in items if not TaskStatus(i.status).resolved]
        creep = {i.id: i.outside for i in items if i.outside}
        evidence: dict[str, Any] = {
            "tasks": [i.as_dict() for i in items],
            "scope_creep": creep,
            "unchanged": [i.id for i in items if i.done and not i.touched],
            "open": open_tasks,
            "verdict": "",
            **judged.evidence(),
        }
        blockers = tuple(f"{task} is not done" for task in open_tasks)
        report = ctx.run_dir / "review.md"
        evidence["report"] = str(report)
        profile = stage_agent_profile(ctx)
        coverage_line = f"{sum(i.done for i in items)}/{len(items)} tasks done" + (
            f", scope creep in {', '.join(creep)}" if creep else ""
        )
        if not profile:
            atomic_write(report, "\n".join(lines) + "\n")
            return StageResult(
                ok=True,
                summary=f"{coverage_line} (no review agent configured: coverage only)",
                details="\n".join(lines),
                evidence=evidence,
                blockers=blockers,
            )
        return self.agent_review(ctx, profile, changes, lines, evidence, blockers, coverage_line)

    def agent_review(
        self,
        ctx: StageContext,
        profile: str,
        changes: ChangeSet,
        lines: list[str],
        evidence: dict[str, Any],
        blockers: tuple[str, ...],
        coverage_line: str,
    ) -> StageResult:
        report = ctx.run_dir / "review.md"
        plan_text = read_text(ctx.workspace / ctx.config.run.plan)
        results = "\n".join(
            stage_evidence_line(ctx, s) for s in (StageName.SECURITY, StageName.TEST)
        )
        sections = [
            ("Where your review goes", f"Your final message is saved as `{report}`."),
            ("PLAN.md", plan_text or "(no PLAN.md)"),
            ("The orchestrator's review report", "\n".join(lines)),
            ("Security and test results", results),
            ("The run's diff", changes.diff() or "(no git diff available)"),
        ]
        result = run_stage_agent(ctx, profile, stage_prompt(ctx, sections))
        if not result.ok:
            atomic_write(report, "\n".join(lines) + "\n")
            return StageResult(
                ok=False,
                summary=f"no verdict: {agent_failure(profile, result)}",
                details="Retry the stage to run the review agent again, or skip it.\n\n"
                + "\n".join(lines),
                evidence=evidence,
                blockers=blockers,
            )
        committed = commit_agent_work(ctx, profile)
        if committed.committed:
            lines.append(f"\nThe review agent changed files{committed.agent_note()}.")
        text = result.final_text.strip()
        if not parse_verdict(text) and parse_verdict(read_text(report)):
            text = read_text(report).strip()
        verdict = parse_verdict(text)
        evidence["verdict"] = verdict
        atomic_write(report, "\n".join(lines) + f"\n\n## Review by {profile}\n\n{text}\n")
        details = "\n".join(lines) + f"\n\n## Review by {profile}\n\n{text}"
        if verdict == "approve":
            return StageResult(
                ok=True,
                summary=f"{profile}: approve; {coverage_line}",
                details=details,
                evidence=evidence,
                blockers=blockers,
            )
        if verdict == "changes requested":
            evidence["send_back"] = {"tasks": [], "feedback": text[-4000:]}
            return StageResult(
                ok=False,
                summary=f"{profile}: changes requested; {coverage_line}",
                details=details
                + "\n\n**What now:** the review asks for changes. **Reject** to send the "
                "review back: the tasks it names rerun with it in their prompt (when it "
                "names none, a fix task does the work; `[stages.test] fix_rounds` bounds "
                "the rounds), then the stages up to review run again; or fix them yourself "
                "and **retry**; or **skip** to finish the run with the review on record.",
                evidence=evidence,
                blockers=blockers,
            )
        return StageResult(
            ok=False,
            summary=f"the review by {profile} ends without a verdict line",
            details=details + "\n\n**No verdict:** the last line must be exactly "
            "`Verdict: approve` or `Verdict: changes requested`. Retry the stage.",
            evidence=evidence,
            blockers=blockers,
        )
