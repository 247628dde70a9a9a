"""Security findings, how each scanner's output becomes them, and SARIF 2.1.0 out and in."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
SEVERITIES = ("high", "medium", "low")
LEVEL_OF = {"high": "error", "medium": "warning", "low": "note"}
SEVERITY_OF_LEVEL = {"error": "high", "warning": "medium", "note": "low", "none": "low"}
TOOL_URIS = {
    "bandit": "https://bandit.readthedocs.io/",
    "detect-secrets": "https://github.com/Yelp/detect-secrets",
}


class ReportError(ValueError):
    """A scanner printed something that is not its report."""


@dataclass(frozen=True)
class Finding:
    tool: str
    rule: str
    severity: str
    file: str
    line: int
    message: str
    confidence: str = ""
    baseline: str = ""  # SARIF baselineState: "new" (the run's lines) or "unchanged"

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file or "—"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_json(text: str, tool: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        sample = " ".join(text.split())[:120] or "nothing"
        raise ReportError(
            f"{tool} printed something that is not its JSON report: {sample!r}"
        ) from None


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return (
        "tests/" in f"/{path}"
        or name.startswith("test_")
        or name.endswith(("_test.py", "conftest.py"))
    )


def bandit_findings(text: str) -> tuple[list[Finding], list[str]]:
    """Bandit's `-f json` report → findings, plus the files bandit could not scan.

    B101 (assert used) is dropped in test files, where asserts are the point."""
    report = load_json(text, "bandit")
    if not isinstance(report, dict) or not isinstance(report.get("results"), list):
        raise ReportError("bandit's report has no results list")
    findings = []
    for item in report["results"]:
        if not isinstance(item, dict):
            continue
        path = str(item.get("filename", "")).removeprefix("./")
        rule = str(item.get("test_id", "?"))
        if rule == "B101" and is_test_file(path):
            continue
        name = item.get("test_name")
        text = str(item.get("issue_text", ""))
        findings.append(
            Finding(
                tool="bandit",
                rule=rule,
                severity=str(item.get("issue_severity", "low")).lower(),
                file=path,
                line=as_int(item.get("line_number")),
                message=f"{text} ({name})" if name else text,
                confidence=str(item.get("issue_confidence", "")).lower(),
            )
        )
    errors = [
        f"{str(e.get('filename', '?')).removeprefix('./')}: {e.get('reason', '?')}"
        for e in report.get("errors", [])
        if isinstance(e, dict)
    ]
    return findings, errors


def secret_findings(text: str) -> list[Finding]:
    """detect-secrets' `scan` report → findings (high: a credential in the code)."""
    report = load_json(text, "detect-secrets")
    results = report.get("results") if isinstance(report, dict) else None
    if not isinstance(results, dict):
        raise ReportError("detect-secrets' report has no results table")
    findings = []
    for path, secrets in results.items():
        for secret in secrets if isinstance(secrets, list) else []:
            kind = str(secret.get("type", "secret")) if isinstance(secret, dict) else "secret"
            line = as_int(secret.get("line_number")) if isinstance(secret, dict) else 0
            findings.append(
                Finding(
                    tool="detect-secrets",
                    rule=kind,
                    severity="high",
                    file=str(path).removeprefix("./"),
                    line=line,
                    message=f"possible secret ({kind}); its value is not shown",
                )
            )
    return findings


def as_int(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


def sarif_findings(report: Any, default_tool: str) -> list[Finding]:
    """Results of a SARIF log (e.g. from a configured scanner) → findings."""
    try:
        return read_sarif_results(report, default_tool)
    except (AttributeError, TypeError, IndexError) as exc:
        problem = f"{default_tool} printed SARIF that does not follow the format: {exc}"
        raise ReportError(problem) from None


def read_sarif_results(report: Any, default_tool: str) -> list[Finding]:
    findings = []
    for run in report.get("runs", []) if isinstance(report, dict) else []:
        driver = run.get("tool", {}).get("driver", {}) if isinstance(run, dict) else {}
        tool = str(driver.get("name") or default_tool)
        for result in run.get("results", []) if isinstance(run, dict) else []:
            if not isinstance(result, dict):
                continue
            location = (result.get("locations") or [{}])[0].get("physicalLocation") or {}
            properties = result.get("properties") or {}
            severity = properties.get("severity") or SEVERITY_OF_LEVEL.get(
                str(result.get("level", "warning")), "medium"
            )
            findings.append(
                Finding(
                    tool=tool,
                    rule=str(result.get("ruleId", "?")),
                    severity=str(severity).lower(),
                    file=str(location.get("artifactLocation", {}).get("uri", "")),
                    line=as_int(location.get("region", {}).get("startLine")),
                    message=str(result.get("message", {}).get("text", "")),
                )
            )
    return findings


def counts(findings: Iterable[Finding]) -> dict[str, int]:
    tally = Counter(f.severity if f.severity in SEVERITIES else "low" for f in findings)
    return {severity: tally.get(severity, 0) for severity in SEVERITIES}


def sarif_log(findings: Sequence[Finding], tools: Sequence[str]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run per tool that ran (findings or not)."""
    runs = []
    for tool in dict.fromkeys([*tools, *(f.tool for f in findings)]):
        mine = [f for f in findings if f.tool == tool]
        rules = sorted({f.rule for f in mine})
        driver: dict[str, Any] = {"name": tool, "rules": [{"id": rule} for rule in rules]}
        if tool in TOOL_URIS:
            driver["informationUri"] = TOOL_URIS[tool]
        runs.append({"tool": {"driver": driver}, "results": [sarif_result(f) for f in mine]})
    return {"version": SARIF_VERSION, "$schema": SARIF_SCHEMA, "runs": runs}


def sarif_result(finding: Finding) -> dict[str, Any]:
    location: dict[str, Any] = {"artifactLocation": {"uri": finding.file or "."}}
    if finding.line > 0:
        location["region"] = {"startLine": finding.line}
    properties = {"severity": finding.severity}
    if finding.confidence:
        properties["confidence"] = finding.confidence
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "level": LEVEL_OF.get(finding.severity, "note"),
        "message": {"text": finding.message or finding.rule},
        "locations": [{"physicalLocation": location}],
        "properties": properties,
    }
    if finding.baseline:
        result["baselineState"] = finding.baseline
    return result
