"""What a gate shows: a stage's result as Markdown, enough to decide approve or reject.

Each stage's runner writes its own `details` (Markdown); the evidence dict adds the
figures. The shapes below are the ones the stages report — parallel (tasks, waves,
critical path, overlaps), security (findings by severity), test (counts and failures),
review (verdict), implement (done, unresolved, cost) — and any other key is listed as is,
so a new stage's evidence still shows.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ..core.models import StageName
from ..core.state import RunState
from .view import fmt_cost, fmt_tokens, shorten

SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_LISTED = 12


def gate_markdown(state: RunState, stage: StageName) -> str:
    """The approval modal's body for `stage` in `state`."""
    stage_state = state.stages[stage]
    gate = state.gate if state.gate and state.gate.stage == stage else None
    parts: list[str] = []
    summary = (gate.summary if gate else "") or stage_state.summary
    if summary:
        parts.append(f"**{escape_md(summary)}**")
    if (gate and gate.failed) or stage_state.status == "failed":
        if gate and gate.reject_hint.startswith("Send back"):  # test/review, rounds left
            parts.append(
                "The stage **failed**: reject (`r`) sends the failures back to the tasks that "
                "own them; or fix it yourself and retry (`R`), or skip it (`s`)."
            )
        else:
            parts.append("The stage **failed**: retry it (`R`), skip it (`s`), or fix and retry.")
    blockers = (gate.blockers if gate else ()) or stage_state.blockers
    if blockers:
        parts.append("### Blockers\n" + "\n".join(f"- {escape_md(b)}" for b in blockers))
    if stage_state.details:
        parts.append(keep_line_breaks(stage_state.details))
    evidence = evidence_markdown(stage, stage_state.evidence, compact=bool(stage_state.details))
    if evidence:
        parts.append(evidence)
    parts.append(
        f"### Cost so far\n{fmt_cost(state.cost_usd)} · "
        f"{fmt_tokens(state.input_tokens + state.output_tokens)} tokens "
        f"({fmt_tokens(state.input_tokens)} in, {fmt_tokens(state.output_tokens)} out)"
    )
    evidence = stage_state.evidence or {}
    if "feedback_addressed" in evidence or "feedback_unused" in evidence:
        pass  # evidence_markdown showed it
    elif stage_state.feedback and stage_state.attempt > 1:
        parts.append(f"### Feedback this attempt addressed\n> {escape_md(stage_state.feedback)}")
    return "\n\n".join(parts)


def evidence_markdown(stage: StageName, evidence: Mapping[str, Any], compact: bool = False) -> str:
    """The evidence as Markdown sections; `compact` when the stage's details already
    describe the schedule (one line of figures instead of the wave list)."""
    if not evidence:
        return ""
    shown: set[str] = set()
    sections: list[str] = []
    if "waves" in evidence or "critical_path" in evidence:
        sections.append(dag_section(evidence, compact))
        shown |= {"tasks", "waves", "critical_path", "overlaps"}
    if "findings" in evidence or "by_severity" in evidence or "severity" in evidence:
        # A stage whose details already tabulate its findings (security) gets no second
        # table of the same counts, nor the raw counts again in the list below.
        if not compact:
            sections.append(findings_section(evidence))
        shown |= {"findings", "by_severity", "severity", "counts", "total"}
    test_keys = {"passed", "failed", "skipped", "errors", "failures", "total"}
    # Test counts: the test stage's, or another stage's that counts passed or failed tests
    # (security's `total` findings and `skipped` scanners are not test counts).
    counts_tests = any(is_int(evidence.get(k)) for k in ("passed", "failed"))
    if stage == StageName.TEST or (counts_tests and len(test_keys & set(evidence)) >= 2):
        section = tests_section(evidence)
        if section:
            sections.append(section)
            shown |= test_keys
    if "feedback_addressed" in evidence:
        text = escape_md(str(evidence["feedback_addressed"]))
        sections.append(f"### Feedback this attempt addressed\n> {text}")
        shown.add("feedback_addressed")
    if "feedback_unused" in evidence:
        text = escape_md(str(evidence["feedback_unused"]))
        sections.append(
            f"### Feedback given (nothing in this stage uses it)\n> {text}\n\n"
            "This stage has no agent: the rerun did not read the text."
        )
        shown.add("feedback_unused")
    if "verdict" in evidence:
        sections.append(f"### Review verdict\n**{escape_md(str(evidence['verdict']))}**")
        shown.add("verdict")
    rest = {k: v for k, v in evidence.items() if k not in shown}
    if rest:
        items = "\n".join(
            f"- **{escape_md(k)}**: {escape_md(value_text(v))}" for k, v in rest.items()
        )
        sections.append("### Evidence\n" + items)
    return "\n\n".join(s for s in sections if s)


def dag_section(evidence: Mapping[str, Any], compact: bool = False) -> str:
    waves = evidence.get("waves") or []
    path = evidence.get("critical_path") or []
    overlaps = evidence.get("overlaps") or []
    count = evidence.get("tasks", sum(len(w) for w in waves))
    if isinstance(count, list):
        count = len(count)
    figures = (
        f"**{plural(count, 'task')}**, **{plural(len(waves), 'wave')}**, "
        f"critical path of {len(path)}"
    )
    if compact:
        overlap_text = f"{len(overlaps)} overlap group(s)" if overlaps else "no file overlaps"
        return f"### Schedule\n{figures}, {overlap_text}"
    lines = ["### Schedule", figures, ""]
    for number, wave in enumerate(waves[:MAX_LISTED], start=1):
        lines.append(f"- wave {number}: {escape_md(shorten(', '.join(map(str, wave)), 200))}")
    if len(waves) > MAX_LISTED:
        lines.append(f"- … {len(waves) - MAX_LISTED} more waves")
    if path:
        lines += ["", "Critical path: " + escape_md(shorten(" → ".join(map(str, path)), 300))]
    if overlaps:
        groups = "; ".join(", ".join(map(str, g)) for g in overlaps[:MAX_LISTED])
        lines += ["", f"File overlaps (never side by side): {escape_md(groups)}"]
    else:
        lines += ["", "No file overlaps."]
    return "\n".join(lines)


def findings_section(evidence: Mapping[str, Any]) -> str:
    findings = evidence.get("findings")
    counts: Counter[str] = Counter()
    by_severity = evidence.get("by_severity") or evidence.get("severity") or evidence.get("counts")
    if isinstance(by_severity, Mapping):
        counts.update({str(k).lower(): int(v) for k, v in by_severity.items() if is_int(v)})
    listed: list[Mapping[str, Any]] = []
    if isinstance(findings, list):
        listed = [f for f in findings if isinstance(f, Mapping)]
        if not counts:
            counts.update(str(f.get("severity", "unknown")).lower() for f in listed)
    elif is_int(findings) and not counts:
        counts["total"] = int(findings)
    order = [s for s in SEVERITIES if s in counts] + sorted(set(counts) - set(SEVERITIES))
    total = sum(counts.values())
    lines = ["### Findings", f"**{total}** in all"]
    if order:
        lines.append("\n| severity | count |\n|---|---|")
        lines += [f"| {escape_md(s)} | {counts[s]} |" for s in order]
    rank = {s: n for n, s in enumerate(SEVERITIES)}
    listed.sort(key=lambda f: rank.get(str(f.get("severity", "")).lower(), len(rank)))
    if listed:
        lines.append("")
    for finding in listed[:MAX_LISTED]:
        where = finding.get("file") or finding.get("path") or ""
        if finding.get("line"):
            where = f"{where}:{finding['line']}"
        what = finding.get("message") or finding.get("rule") or finding.get("test_id") or ""
        severity = str(finding.get("severity", "?")).upper()
        tool = f" ({finding['tool']})" if finding.get("tool") else ""
        lines.append(
            f"- **{escape_md(severity)}** `{where}`{escape_md(tool)}: "
            f"{escape_md(shorten(str(what), 160))}"
        )
    if len(listed) > MAX_LISTED:
        lines.append(f"- … {len(listed) - MAX_LISTED} more")
    return "\n".join(lines)


def tests_section(evidence: Mapping[str, Any]) -> str:
    counts = [
        f"{evidence[k]} {k}"
        for k in ("passed", "failed", "errors", "skipped", "total")
        if k in evidence and is_int(evidence[k])
    ]
    failures = evidence.get("failures")
    lines = ["### Tests"]
    if counts:
        lines.append(" · ".join(counts))
    if isinstance(failures, list) and failures:
        lines.append("")
        for failure in failures[:MAX_LISTED]:
            if isinstance(failure, Mapping):
                name = failure.get("name") or failure.get("test") or "?"
                message = failure.get("message") or ""
                lines.append(f"- `{name}`: {escape_md(shorten(str(message), 160))}")
            else:
                lines.append(f"- {escape_md(shorten(str(failure), 160))}")
        if len(failures) > MAX_LISTED:
            lines.append(f"- … {len(failures) - MAX_LISTED} more")
    elif is_int(failures):
        lines.append(f"{failures} failures")
    return "\n".join(lines) if len(lines) > 1 else ""


BLOCK_START = re.compile(r"^\s*([-*+>|#]|\d+[.)]\s|```|~~~|$)")


def keep_line_breaks(markdown: str) -> str:
    """Runners write their details line by line; in Markdown two plain lines in a row
    would run together, so each such line ends in a hard break (code blocks, lists,
    tables and headings are left alone)."""
    lines = markdown.split("\n")
    out: list[str] = []
    fenced = False
    for number, line in enumerate(lines):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        following = lines[number + 1] if number + 1 < len(lines) else ""
        plain = not fenced and not BLOCK_START.match(line)
        if plain and following.strip() and not BLOCK_START.match(following):
            line += "  "
        out.append(line)
    return "\n".join(out)


def plural(count: object, noun: str) -> str:
    """`1 task`, `2 tasks`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return shorten(value, 160)
    return shorten(json.dumps(value, default=str), 160)


def escape_md(text: str) -> str:
    """Plain text inside Markdown: no accidental emphasis, tables or HTML."""
    out = text.replace("\\", "\\\\")
    for char in "`*_[]<>|#":
        out = out.replace(char, "\\" + char)
    return " ".join(out.split("\n"))
