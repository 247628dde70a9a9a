"""Stage 5, security: scan what the run changed.

bandit on the changed Python files, detect-secrets on every changed text file, plus
`[stages.security] command` when configured (`{files}` in it stands for the changed files;
SARIF on its stdout is read as findings, else a non-zero exit is one finding). Findings go to
security.sarif and the evidence; a high-severity finding is a blocker (auto-approve stops)
unless `allow_high` is set. A scanner that is not installed is skipped and said so; one that
crashes, hangs or prints garbage fails the stage with the reason, keeping what the others found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..core.protocols import StageContext, StageResult
from ..infra.fsutil import atomic_write
from .baseline import LineMap, line_map
from .changes import ChangeSet, is_text_file
from .findings import (
    SEVERITIES,
    Finding,
    ReportError,
    bandit_findings,
    counts,
    load_json,
    sarif_findings,
    sarif_log,
    secret_findings,
)
from .snapshot import Judged, commit_agent_work, judged_changes
from .stage_agent import agent_failure, run_stage_agent, stage_agent_profile, stage_prompt
from .tools import python_module_argv, run_tool

CHUNK = 400
MAX_EVIDENCE_FINDINGS = 200


def installed_scanners() -> dict[str, list[str] | None]:
    """The scanners this installation has (None: not installed)."""
    return {
        "bandit": python_module_argv("bandit"),
        "detect-secrets": python_module_argv("detect_secrets"),
    }


@dataclass
class Scan:
    findings: list[Finding] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def chunks(items: Sequence[str], size: int = CHUNK) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class SecurityRunner:
    """The built-in security stage. `scanners` overrides the discovered tools (tests)."""

    def __init__(self, scanners: Mapping[str, Sequence[str] | None] | None = None) -> None:
        self.scanners = dict(scanners) if scanners is not None else installed_scanners()

    def run(self, ctx: StageContext) -> StageResult:
        changes, judged = judged_changes(ctx)
        sarif_path = ctx.run_dir / "security.sarif"
        if not changes.files:
            atomic_write(sarif_path, json.dumps(sarif_log([], []), indent=2))
            return StageResult(
                ok=True,
                summary="nothing to scan: the run changed no files",
                details=f"Changed files come from {changes.source}; none were found.",
                evidence={
                    "findings": [],
                    "counts": counts([]),
                    "sarif": str(sarif_path),
                    **judged.evidence(),
                },
            )
        scan = Scan()
        timeout = ctx.config.stage(ctx.stage).timeout
        python_files = changes.python_files
        text_files = [f for f in changes.files if is_text_file(changes.root / f)]
        self.bandit(ctx, changes, python_files, timeout, scan)
        self.secrets(ctx, changes, text_files, timeout, scan)
        self.command(ctx, changes, timeout, scan)
        lines = line_map(changes)
        scan.findings = [
            replace(f, baseline="new" if is_new(f, lines) else "unchanged") for f in scan.findings
        ]
        atomic_write(sarif_path, json.dumps(sarif_log(scan.findings, scan.ran), indent=2))
        result = self.result(ctx, changes, scan, sarif_path, len(python_files), len(text_files))
        return with_judged(result, judged)

    # ---- the scanners ------------------------------------------------------------------

    def bandit(
        self, ctx: StageContext, changes: ChangeSet, files: list[str], timeout: float, scan: Scan
    ) -> None:
        argv = self.scanners.get("bandit")
        if not files:
            scan.notes.append("bandit: no changed Python files")
            return
        if argv is None:
            scan.skipped.append("bandit not installed — skipped")
            return
        for part in chunks(files):
            bandit_argv = [*argv, "-f", "json", "-q", *part]
            run = run_tool("bandit", bandit_argv, changes.root, timeout, ctx.cancel)
            if not run.finished or run.exit_code not in (0, 1):
                scan.problems.append(run.problem or f"bandit exited {run.exit_code}")
                return
            try:
                found, errors = bandit_findings(run.output)
            except ReportError as exc:
                scan.problems.append(str(exc))
                return
            scan.findings += found
            scan.notes += [f"bandit could not scan {e}" for e in errors]
        scan.ran.append("bandit")

    def secrets(
        self, ctx: StageContext, changes: ChangeSet, files: list[str], timeout: float, scan: Scan
    ) -> None:
        argv = self.scanners.get("detect-secrets")
        if not files:
            scan.notes.append("detect-secrets: no changed text files")
            return
        if argv is None:
            scan.skipped.append("detect-secrets not installed — skipped")
            return
        for part in chunks(files):
            scan_argv = [*argv, "scan", *part]
            run = run_tool("detect-secrets", scan_argv, changes.root, timeout, ctx.cancel)
            if not run.ok:
                scan.problems.append(run.problem)
                return
            try:
                scan.findings += secret_findings(run.output)
            except ReportError as exc:
                scan.problems.append(str(exc))
                return
        scan.ran.append("detect-secrets")

    def command(self, ctx: StageContext, changes: ChangeSet, timeout: float, scan: Scan) -> None:
        template = ctx.config.stage(ctx.stage).command
        if not template:
            return
        argv: list[str] = []
        for part in template:
            argv += list(changes.files) if part == "{files}" else [part]
        name = template[0].rsplit("/", 1)[-1]
        run = run_tool(name, argv, changes.root, timeout, ctx.cancel)
        if not run.finished:
            scan.problems.append(run.problem)
            return
        scan.ran.append(name)
        try:
            report: Any = load_json(run.output, name) if run.output.strip() else None
        except ReportError:
            report = None
        if isinstance(report, dict) and "runs" in report:
            try:
                scan.findings += sarif_findings(report, name)
            except ReportError as exc:
                scan.problems.append(str(exc))
        elif run.exit_code != 0:
            scan.findings.append(
                Finding(name, f"exit {run.exit_code}", "medium", "", 0, run.tail(5) or run.problem)
            )

    # ---- the result --------------------------------------------------------------------

    def result(
        self,
        ctx: StageContext,
        changes: ChangeSet,
        scan: Scan,
        sarif_path: Any,
        python_count: int,
        text_count: int,
    ) -> StageResult:
        new = [f for f in scan.findings if f.baseline != "unchanged"]
        old = sorted((f for f in scan.findings if f.baseline == "unchanged"), key=severity_order)
        tally = counts(new)
        allow_high = ctx.config.stage(ctx.stage).allow_high
        blockers: tuple[str, ...] = ()
        if tally["high"] and not allow_high:
            blockers = (f"{tally['high']} new high-severity finding{'s' * (tally['high'] != 1)}",)
        ranked = sorted(new, key=severity_order)
        count_text = ", ".join(f"{n} {s}" for s, n in tally.items() if n) or "no findings"
        summary = (
            f"{len(new)} new finding{'s' * (len(new) != 1)} ({count_text}) in "
            f"{len(changes.files)} files"
        )
        if ranked:
            worst = ranked[0]
            summary += f"; worst: {worst.tool} {worst.rule} at {worst.where}"
        else:
            summary = f"no new findings in {len(changes.files)} changed files"
        if old:
            summary += f"; {len(old)} pre-existing, unchanged"
        if scan.skipped:
            summary += "; " + "; ".join(scan.skipped)
        lines = [
            f"Scanned {python_count} Python and {text_count} text files changed by the run "
            f"({changes.source}) with {', '.join(scan.ran) or 'no scanner'}. Findings on "
            f"lines the run changed (against {changes.base[:10] or 'no base'}) are new and "
            "count; the rest were there before and are listed apart.",
            "",
            "| new: high | medium | low | pre-existing |",
            "|---:|---:|---:|---:|",
            f"| {tally['high']} | {tally['medium']} | {tally['low']} | {len(old)} |",
        ]
        if allow_high and tally["high"]:
            lines += ["", "High findings are allowed by the config (`allow_high = true`)."]
        if ranked:
            lines += ["", "### New in this run", ""]
            lines += finding_table(ranked)
        if old:
            lines += ["", f"### Pre-existing, unchanged ({len(old)}; not counted)", ""]
            lines += finding_table(old[:MAX_EVIDENCE_FINDINGS])
        for title, items in (
            ("Not run", scan.skipped),
            ("Problems", scan.problems),
            ("Notes", [*scan.notes, *changes.problems]),
        ):
            if items:
                lines += ["", f"**{title}:**", *(f"- {item}" for item in items)]
        lines += ["", f"SARIF: `{sarif_path}` (each result has its `baselineState`)"]
        evidence = {
            "findings": [f.as_dict() for f in ranked[:MAX_EVIDENCE_FINDINGS]],
            "counts": tally,
            "total": len(new),
            "pre_existing": len(old),
            "pre_existing_counts": counts(old),
            "pre_existing_findings": [f.as_dict() for f in old[:MAX_EVIDENCE_FINDINGS]],
            "scanners": scan.ran,
            "skipped": scan.skipped,
            "problems": scan.problems,
            "files": len(changes.files),
            "allow_high": allow_high,
            "sarif": str(sarif_path),
        }
        ok = not scan.problems
        if scan.problems:
            summary = f"scan incomplete: {scan.problems[0]}; {summary}"
            lines += ["", "Retry the stage once the scanner works, or skip it."]
        profile = stage_agent_profile(ctx)
        if profile and ok and ranked:
            review = self.agent_review(ctx, profile, changes, ranked)
            lines += ["", "## Agent review", "", review[1]]
            if not review[0]:
                ok = False
                summary = f"{summary}; {review[1]}"
        return StageResult(
            ok=ok, summary=summary, details="\n".join(lines), evidence=evidence, blockers=blockers
        )

    def agent_review(
        self, ctx: StageContext, profile: str, changes: ChangeSet, findings: list[Finding]
    ) -> tuple[bool, str]:
        table = "\n".join(
            f"- {f.severity} {f.tool} {f.rule} at {f.where}: {f.message}" for f in findings
        )
        prompt = stage_prompt(
            ctx, [("Findings", table), ("The run's diff", changes.diff() or "(no git diff)")]
        )
        result = run_stage_agent(ctx, profile, prompt)
        if not result.ok:
            return False, agent_failure(profile, result)
        committed = commit_agent_work(ctx, profile)
        if committed.problem:
            return False, f"{profile}'s changes {committed.problem}"
        atomic_write(ctx.run_dir / "security-review.md", result.final_text)
        said = result.final_text.strip() or "(the agent said nothing)"
        return True, said + committed.agent_note()


def severity_order(finding: Finding) -> tuple[int, str, int]:
    rank = SEVERITIES.index(finding.severity) if finding.severity in SEVERITIES else 3
    return rank, finding.file, finding.line


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")[:300]


def finding_table(findings: list[Finding]) -> list[str]:
    rows = ["| severity | tool | rule | where | message |", "|---|---|---|---|---|"]
    rows += [
        f"| {f.severity} | {f.tool} | {f.rule} | `{f.where}` | {cell(f.message)} |"
        for f in findings
    ]
    return rows


def with_judged(result: StageResult, judged: Judged) -> StageResult:
    """The result with the commit it judged in its evidence and details."""
    evidence = {**result.evidence, **judged.evidence()}
    details = f"{judged.line().capitalize()}.\n\n{result.details}"
    return StageResult(result.ok, result.summary, details, evidence, result.blockers)


def is_new(finding: Finding, lines: LineMap) -> bool:
    """On a line the run changed (a finding without a file is the run's too)."""
    return not finding.file or lines.touches(finding.file, finding.line)
