"""Stage 2, plan: adopt PLAN.md, or have an agent write it from the goal.

- A goal (`run --goal`, or GOAL.md): the plan agent (the stage's own, else the default
  profile) gets the goal, the analysis and CLAUDE.md's plan format, and writes PLAN.md. The
  parser checks it; every error goes back to the agent, up to MAX_ATTEMPTS times, so a plan
  that reaches the gate always parses.
- No goal, PLAN.md present: adopt it, and say so.
- Neither: fail with what to do.

The gate shows the DAG summary (tasks, waves, critical path, overlaps); the user may edit
PLAN.md before approving (the parallel stage parses it again).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..core.models import Plan
from ..core.plan import PlanError, parse_plan
from ..core.protocols import StageContext, StageResult
from ..core.scheduler import schedule
from ..resources import claude_md_example
from .detect import read_text
from .stage_agent import agent_failure, run_stage_agent, stage_agent_profile, stage_prompt

MAX_ATTEMPTS = 3
FENCE = re.compile(r"^\s*(```|~~~)")
PLAN_START = re.compile(r"^# Plan:", re.MULTILINE)


def dag_summary(plan: Plan) -> tuple[list[str], dict[str, Any]]:
    """Markdown lines and evidence describing how the plan will run."""
    shape = schedule(plan.tasks)
    lines = [
        f"**{md_cell(plan.title or 'Plan')}**: {plural(len(plan.tasks), 'task')} in "
        f"{plural(len(shape.waves), 'wave')}.",
        "",
        *(f"- wave {n + 1}: {', '.join(wave)}" for n, wave in enumerate(shape.waves)),
        "",
        f"Critical path: {' → '.join(shape.critical_path) or '—'}",
    ]
    lines += [f"Overlap (never side by side): {', '.join(group)}" for group in shape.overlaps]
    lines += ["", "| task | title | depends | files |", "|---|---|---|---|"]
    for task in plan.tasks:
        depends = ", ".join(task.depends) or "—"
        # Paths as code: `__init__.py` must not turn into a bold "init".
        files = ", ".join(f"`{f}`" for f in task.files) or "—"
        lines.append(f"| {md_cell(task.id)} | {md_cell(task.title)} | {depends} | {files} |")
    evidence = {
        "tasks": len(plan.tasks),
        "waves": shape.waves,
        "critical_path": shape.critical_path,
        "overlaps": shape.overlaps,
    }
    return lines, evidence


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def md_cell(text: str) -> str:
    """Plain text in a Markdown table cell: no emphasis, no column break."""
    out = text.replace("\\", "\\\\")
    for char in "`*_[]<>|":
        out = out.replace(char, "\\" + char)
    return " ".join(out.split())


def section_of(text: str, heading: str) -> str:
    """The `## heading` section of a Markdown text, headings inside code fences ignored."""
    lines = text.splitlines()
    found: list[str] = []
    inside = fenced = False
    for line in lines:
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip().lower() == heading.lower()
            continue
        if inside:
            found.append(line)
    return "\n".join(found).strip()


def plan_format(workspace: Path) -> str:
    """CLAUDE.md's "PLAN.md format" section (the workspace's, else the bundled one)."""
    text = section_of(read_text(workspace / "CLAUDE.md"), "PLAN.md format")
    if not text:
        try:
            text = section_of(claude_md_example(), "PLAN.md format")
        except FileNotFoundError:
            text = ""
    return text


def goal_of(ctx: StageContext) -> tuple[str, str]:
    """The goal and where it came from."""
    if ctx.goal.strip():
        return ctx.goal.strip(), "the run's --goal"
    goal_file = read_text(ctx.workspace / "GOAL.md").strip()
    return (goal_file, "GOAL.md") if goal_file else ("", "")


def plan_problems(path: Path, tag: str | None = None) -> tuple[Plan | None, list[str]]:
    try:
        return parse_plan(path, tag), []
    except PlanError as exc:
        return None, [str(p) for p in exc.problems]


def plan_from_text(text: str) -> str:
    """A plan found in an agent's final message (from `# Plan:` on, fences removed)."""
    match = PLAN_START.search(text)
    if not match:
        return ""
    body = text[match.start() :]
    if "\n```" in body and body.rstrip().endswith("```"):
        body = body.rstrip().removesuffix("```")
    return body.strip() + "\n"


class PlanRunner:
    """The built-in plan stage."""

    def run(self, ctx: StageContext) -> StageResult:
        path = ctx.workspace / ctx.config.run.plan
        goal, source = goal_of(ctx)
        explicit_agent = bool(ctx.config.stage(ctx.stage).agent)
        if goal or (ctx.feedback and explicit_agent and path.is_file()):
            return self.write_plan(ctx, path, goal, source)
        if path.is_file():
            return self.adopt(path, ctx.feedback, ctx.config.run.taskmaster_tag or None)
        return StageResult(
            ok=False,
            summary=f"no goal and no {ctx.config.run.plan}: nothing to plan",
            details=(
                "Give the run a goal (`orchestrator-tui run --goal TEXT`, or a `GOAL.md` in the "
                f"workspace) for the plan agent, or write `{ctx.config.run.plan}` yourself "
                "(`orchestrator-tui init` writes an example), then retry this stage."
            ),
        )

    def adopt(self, path: Path, feedback: str, tag: str | None = None) -> StageResult:
        plan, problems = plan_problems(path, tag)
        if plan is None:
            return invalid_plan(path, problems, "adopted as found, no goal given")
        lines, evidence = dag_summary(plan)
        again = " (re-read after your feedback)" if feedback else ""
        whose = "its own goal" if plan.goal else "no goal given"  # the run was given none
        return StageResult(
            ok=True,
            summary=f"adopted {path.name}: {len(plan.tasks)} tasks, "
            f"{len(evidence['waves'])} waves ({whose}){again}",
            details=f"The run was given no goal, so the existing `{path.name}` is the plan"
            + (" and its goal the run's.\n\n" if plan.goal else ".\n\n")
            + "\n".join(lines),
            evidence={**evidence, "source": "adopted", "path": str(path)},
        )

    def write_plan(self, ctx: StageContext, path: Path, goal: str, source: str) -> StageResult:
        profile = stage_agent_profile(ctx, use_default=True)
        analysis = read_text(ctx.run_dir / "analysis.md")
        errors: list[str] = []
        history: list[str] = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            sections = [
                ("Where to write", f"Write the plan to `{path}` (replace the file)."),
                ("The goal (from " + source + ")", goal or "(see the feedback)"),
                ("The PLAN.md format (from CLAUDE.md)", plan_format(ctx.workspace)),
                ("The analysis (analysis.md)", analysis or "(no analysis this run)"),
            ]
            if path.is_file():
                sections.append(("The current " + path.name, read_text(path)))
            if errors:
                listed = "\n".join(f"- {e}" for e in errors)
                sections.append(
                    (
                        f"Errors in your last plan (attempt {attempt - 1} of {MAX_ATTEMPTS})",
                        f"The parser rejected {path.name}. Fix every error below, keep the rest "
                        f"and the task IDs, and rewrite the file:\n\n{listed}",
                    )
                )
            before = read_text(path)
            result = run_stage_agent(ctx, profile, stage_prompt(ctx, sections))
            if not result.ok:
                return StageResult(
                    ok=False,
                    summary=f"no plan: {agent_failure(profile, result)}",
                    details="Retry the stage, or write the plan yourself and retry.",
                    evidence={"attempts": attempt, "source": "agent", "profile": profile},
                )
            unchanged = read_text(path) == before
            if unchanged and plan_from_text(result.final_text):
                path.write_text(plan_from_text(result.final_text), encoding="utf-8")
                unchanged = False
            if not path.is_file():
                plan, errors = None, [f"{path} was not written: write the plan to that path"]
            else:
                plan, errors = plan_problems(path, ctx.config.run.taskmaster_tag or None)
            history.append(f"attempt {attempt}: " + ("valid" if plan else f"{len(errors)} errors"))
            if plan is not None:
                lines, evidence = dag_summary(plan)
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                verb = "left" if unchanged else "wrote"
                return StageResult(
                    ok=True,
                    summary=f"{profile} {verb} {path.name}{tries}"
                    + (" unchanged" if unchanged else "")
                    + f": {len(plan.tasks)} tasks, {len(evidence['waves'])} waves",
                    details=f"Goal (from {source}): {goal}\n\nEdit `{path.name}` before "
                    "approving if you want changes; reject with feedback to have the agent "
                    "revise it.\n\n" + "\n".join(lines),
                    evidence={
                        **evidence,
                        "source": "agent",
                        "profile": profile,
                        "attempts": attempt,
                        "path": str(path),
                    },
                )
        return invalid_plan(
            path,
            errors,
            f"written by {profile}; still invalid after {MAX_ATTEMPTS} attempts "
            f"({'; '.join(history)})",
        )


def invalid_plan(path: Path, problems: list[str], how: str) -> StageResult:
    listed = "\n".join(f"- {p}" for p in problems)
    return StageResult(
        ok=False,
        summary=f"{path.name} is invalid: {len(problems)} problem(s) ({how})",
        details=f"Fix `{path.name}` and retry this stage:\n\n{listed}",
        evidence={"errors": problems, "path": str(path)},
    )
