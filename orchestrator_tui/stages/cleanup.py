"""Stage 7, cleanup: format and lint-fix what the run changed, and report what moved.

`ruff format` then `ruff check --fix` on the changed Python files (the project's own ruff
settings apply), or `[stages.cleanup] command` (`{files}` = the changed files) for other
languages. Files are compared before and after, so the report names exactly what changed.
When the run's work lives on its own branch checkout, the edits are committed there. With
vulture installed its dead-code findings are listed, and given to the cleanup agent when one
is configured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core.protocols import StageContext, StageResult
from ..infra.workspace import GitError
from ..infra.workspace import git as workspace_git
from .baseline import line_map
from .changes import ChangeSet, find_changes
from .ranged import RangedOutcome, check_and_fix, format_ranges
from .snapshot import commit_agent_work, head
from .stage_agent import agent_failure, run_stage_agent, stage_agent_profile, stage_prompt
from .style import black_style
from .tools import ToolRun, run_tool, tool_argv

MAX_LISTED = 50


def fingerprints(root: Path, files: list[str]) -> dict[str, str]:
    prints = {}
    for name in files:
        try:
            prints[name] = hashlib.sha256((root / name).read_bytes()).hexdigest()
        except OSError:
            prints[name] = ""
    return prints


def dirty_files(root: Path, files: Iterable[str]) -> list[str]:
    """Which of `files` differ from the checkout's HEAD (staged or not)."""
    names = list(files)
    if not names:
        return []
    diff = workspace_git(root, "diff", "--name-only", "--relative", "HEAD", "--", *names)
    return sorted(line for line in diff.stdout.splitlines() if line)


def changed_between(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in after if before.get(name) != after[name])


class CleanupRunner:
    """The built-in cleanup stage. `tools` overrides the discovered ruff/vulture (tests)."""

    def __init__(self, tools: dict[str, list[str] | None] | None = None) -> None:
        if tools is None:
            tools = {"ruff": tool_argv("ruff", "ruff"), "vulture": tool_argv("vulture", "vulture")}
        self.tools = tools
        self.left_alone = 0

    def run(self, ctx: StageContext) -> StageResult:
        changes = find_changes(ctx)  # what is uncommitted among them, its commit takes
        configured = ctx.config.stage(ctx.stage).command
        if not changes.files:
            return StageResult(
                ok=True,
                summary="nothing to clean: the run changed no files",
                evidence={"changed": [], "source": changes.source},
            )
        if configured:
            return self.finish(ctx, changes, *self.run_command(ctx, changes, configured))
        ruff = self.tools.get("ruff")
        python = changes.python_files
        if not python:
            return StageResult(
                ok=True,
                summary="nothing to clean: no changed Python files (set [stages.cleanup] "
                "command for other languages)",
                evidence={"changed": [], "files": len(changes.files)},
            )
        if ruff is None:
            return StageResult(
                ok=True,
                summary="ruff not installed — skipped",
                details="Install ruff (`pip install ruff`) or set `[stages.cleanup] command`.",
                evidence={"changed": [], "skipped": "ruff not installed"},
            )
        return self.finish(ctx, changes, *self.run_ruff(ctx, changes, ruff, python))

    def run_command(
        self, ctx: StageContext, changes: ChangeSet, template: list[str]
    ) -> tuple[list[str], list[str], list[str], str]:
        argv: list[str] = []
        for part in template:
            argv += list(changes.files) if part == "{files}" else [part]
        files = list(changes.files)
        before = fingerprints(changes.root, files)
        timeout = ctx.config.stage(ctx.stage).timeout
        run = run_tool(template[0].rsplit("/", 1)[-1], argv, changes.root, timeout, ctx.cancel)
        changed = changed_between(before, fingerprints(changes.root, files))
        steps = [f"`{' '.join(template)}`: " + (run.problem or "ok")]
        return changed, steps, [], run.problem

    def run_ruff(
        self, ctx: StageContext, changes: ChangeSet, ruff: list[str], python: list[str]
    ) -> tuple[list[str], list[str], list[str], str]:
        """ruff format and ruff check's fixes on the lines the run changed only (ranged.py)."""
        root = changes.root
        timeout = ctx.config.stage(ctx.stage).timeout

        def run(name: str, argv: list[str]) -> ToolRun:
            return run_tool(name, argv, root, timeout, ctx.cancel)

        start = fingerprints(root, python)
        outcome = RangedOutcome()
        options, style = black_style(root)
        ruff = [*ruff, *options]  # `--config` is one of ruff's global options
        outcome.problem = format_ranges(ruff, python, line_map(changes, python), run)
        after_format = fingerprints(root, python)
        if not outcome.problem:
            check_and_fix(ruff, root, python, lambda: line_map(changes, python), run, outcome)
        after_fix = fingerprints(root, python)
        steps = [
            f"ruff format (the run's lines only{'; ' + style if style else ''}): "
            f"{len(changed_between(start, after_format))} files reformatted",
            f"ruff check fixes on the run's lines: {outcome.fixes} applied in "
            f"{len(changed_between(after_format, after_fix))} files; {outcome.left_outside} "
            "on lines the run did not change left alone",
        ]
        self.left_alone = outcome.left_outside
        return changed_between(start, after_fix), steps, outcome.remaining, outcome.problem

    def finish(
        self,
        ctx: StageContext,
        changes: ChangeSet,
        changed: list[str],
        steps: list[str],
        remaining: list[str],
        problem: str,
    ) -> StageResult:
        lines = [f"Cleaned the files the run changed ({changes.source}).", ""]
        lines += [f"- {step}" for step in steps]
        if changed:
            lines += ["", f"**Changed ({len(changed)}):**"]
            lines += [f"- `{name}`" for name in changed[:MAX_LISTED]]
        if remaining:
            lines += ["", f"**Left for a person or an agent ({len(remaining)}):**"]
            lines += [f"- {issue}" for issue in remaining[:MAX_LISTED]]
        commit = ""
        if not problem:
            commit, left_over, problem = self.commit(ctx, changes)
            changed = sorted({*changed, *left_over})
        if commit:
            lines += ["", f"Committed on {changes.branch}: {commit}"]
        dead = self.dead_code(ctx, changes)
        if dead:
            lines += ["", f"**Possibly dead code (vulture, {len(dead)}):**"]
            lines += [f"- {item}" for item in dead[:MAX_LISTED]]
        evidence: dict[str, Any] = {
            "changed": changed,
            "remaining": len(remaining),
            "remaining_issues": remaining[:MAX_LISTED],
            "dead_code": dead[:MAX_LISTED],
            "steps": steps,
            "left_alone": self.left_alone,
            "commit": head(changes.root) if changes.in_git else "",
        }
        ok = not problem
        summary = f"{len(changed)} of {len(changes.files)} changed files tidied" + (
            f"; {len(remaining)} issue{'s' * (len(remaining) != 1)} left" if remaining else ""
        )
        if problem:
            summary = f"cleanup failed: {problem}"
            lines += ["", "Retry the stage, or skip it."]
        profile = stage_agent_profile(ctx)
        if profile and ok:
            agent_ok, note = self.agent_step(ctx, profile, changes, lines, dead)
            lines += ["", "## Agent", "", note]
            if not agent_ok:
                ok, summary = False, f"{summary}; {note}"
        return StageResult(ok=ok, summary=summary, details="\n".join(lines), evidence=evidence)

    def commit(self, ctx: StageContext, changes: ChangeSet) -> tuple[str, list[str], str]:
        """Commit the edits on the run branch when its checkout is not the workspace.

        What is committed is what git shows changed among the run's files, not only what
        this attempt changed: edits of an attempt killed before its commit are committed
        now (bug E). The commit is checked; a failure fails the stage. Returns (commit,
        the files committed, problem)."""
        if not changes.branch or changes.root.resolve() == ctx.workspace.resolve():
            return "", [], ""
        message = "cleanup: formatter and lint fixes of the files the run changed"
        root = changes.root
        try:
            edited = dirty_files(root, changes.files)
            if not edited:
                return "", [], ""
            workspace_git(root, "add", "--", *edited)
            workspace_git(root, "commit", "--quiet", "--no-verify", "-m", message)
            left = dirty_files(root, edited)
            if left:
                return "", edited, f"files still uncommitted on {changes.branch}: {left}"
            head = workspace_git(root, "rev-parse", "--short", "HEAD").stdout.strip()
            return head, edited, ""
        except GitError as exc:
            return "", [], f"could not commit on {changes.branch}: {exc}"

    def dead_code(self, ctx: StageContext, changes: ChangeSet) -> list[str]:
        vulture = self.tools.get("vulture")
        if vulture is None or not changes.python_files:
            return []
        argv = [*vulture, "--min-confidence", "80", *changes.python_files]
        run = run_tool("vulture", argv, changes.root, ctx.config.stage(ctx.stage).timeout)
        if not run.finished or run.exit_code not in (0, 1, 3):
            return []
        return [line.strip() for line in run.output.splitlines() if line.strip()]

    def agent_step(
        self,
        ctx: StageContext,
        profile: str,
        changes: ChangeSet,
        report: list[str],
        dead: list[str],
    ) -> tuple[bool, str]:
        sections = [
            ("The cleanup report", "\n".join(report)),
            ("Dead code found by vulture", "\n".join(dead) or "(vulture not installed or none)"),
            ("The run's diff", changes.diff() or "(no git diff)"),
        ]
        result = run_stage_agent(ctx, profile, stage_prompt(ctx, sections))
        if not result.ok:
            return False, agent_failure(profile, result)
        committed = commit_agent_work(ctx, profile)
        if committed.problem:
            return False, f"{profile}'s changes {committed.problem}"
        said = result.final_text.strip() or "(the agent said nothing)"
        return True, said + committed.agent_note()
