"""Test results from what test tools write: JUnit XML, `go test -json`, cargo's summary."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CARGO_RESULT = re.compile(
    r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", re.IGNORECASE
)
CARGO_FAILED = re.compile(r"^test (\S+) \.\.\. FAILED$", re.MULTILINE)
MAX_MESSAGE = 2000


class ResultsError(ValueError):
    """The tool's report is missing or unreadable."""


@dataclass(frozen=True)
class TestFailure:
    __test__ = False

    name: str
    message: str
    file: str = ""
    kind: str = "failure"  # failure | error
    trace: str = ""  # the traceback, when the tool gives one (the fix loop reads its files)

    def as_dict(self) -> dict[str, str]:
        found = {"name": self.name, "message": self.message, "file": self.file, "kind": self.kind}
        if self.trace:
            found["trace"] = self.trace
        return found


@dataclass
class TestResults:
    __test__ = False

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    failures: list[TestFailure] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)  # JUnit's, where given

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped + self.errors

    @property
    def green(self) -> bool:
        return self.failed == 0 and self.errors == 0

    def counts(self) -> dict[str, int]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "errors": self.errors,
            "total": self.total,
        }

    def skipped_lines(self) -> list[str]:
        """Why tests were skipped, the commonest reasons first (a skip is not a pass: the
        person at the gate should see what was not verified)."""
        if not self.skip_reasons:
            return []
        top = self.skip_reasons.most_common(10)
        lines = ["", f"Skipped, by reason ({self.skipped} in all):"]
        lines += [f"- {count} × {reason}" for reason, count in top]
        if len(self.skip_reasons) > len(top):
            lines.append(f"- … {len(self.skip_reasons) - len(top)} more reasons in junit.xml")
        return lines

    def line(self) -> str:
        others = (("failed", self.failed), ("errors", self.errors), ("skipped", self.skipped))
        return ", ".join([f"{self.passed} passed", *(f"{n} {what}" for what, n in others if n)])


def clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE] + " […]"


def guess_file(classname: str, root: Path | None) -> str:
    """`tests.test_shop.TestCart` → `tests/test_shop.py` when that file exists."""
    if root is None:
        return ""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if (root / candidate).is_file():
            return candidate
    return ""


def parse_junit(path: Path, root: Path | None = None) -> TestResults:
    """A JUnit XML report (pytest's and most others') → results."""
    try:
        tree = ET.parse(path)
    except FileNotFoundError:
        raise ResultsError(f"no JUnit report at {path}") from None
    except (ET.ParseError, OSError) as exc:
        raise ResultsError(f"the JUnit report {path.name} is unreadable: {exc}") from None
    results = TestResults()
    cases = list(tree.getroot().iter("testcase"))
    for case in cases:
        classname = case.get("classname", "")
        name = f"{classname}::{case.get('name', '?')}" if classname else case.get("name", "?")
        problem = case.find("failure")
        kind = "failure"
        if problem is None:
            problem, kind = case.find("error"), "error"
        if problem is not None:
            message = problem.get("message") or (problem.text or "").strip().splitlines()[-1:]
            text = message if isinstance(message, str) else "".join(message)
            file = case.get("file") or guess_file(classname, root)
            trace = clip((problem.text or "").strip()[-MAX_MESSAGE:])
            results.failures.append(TestFailure(name, clip(text), file, kind, trace))
            if kind == "failure":
                results.failed += 1
            else:
                results.errors += 1
        elif (skipped := case.find("skipped")) is not None:
            results.skipped += 1
            reason = skipped.get("message") or (skipped.text or "").strip()
            results.skip_reasons[clip(reason) or "(no reason given)"] += 1
        else:
            results.passed += 1
    if not cases:
        suite = tree.getroot()
        if suite.tag not in ("testsuites", "testsuite"):
            raise ResultsError(f"{path.name} is XML but not a JUnit report (<{suite.tag}>)")
    return results


def parse_go_json(text: str) -> TestResults:
    """`go test -json` event lines → results (package-level events are not tests)."""
    results = TestResults()
    output: dict[str, list[str]] = {}
    seen = False
    for line in text.splitlines():
        try:
            event: Any = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict) or not event.get("Test"):
            continue
        seen = True
        name = f"{event.get('Package', '')}::{event['Test']}"
        action = event.get("Action")
        if action == "output":
            output.setdefault(name, []).append(str(event.get("Output", "")))
        elif action == "pass":
            results.passed += 1
        elif action == "skip":
            results.skipped += 1
        elif action == "fail":
            results.failed += 1
            lines = [x.strip() for x in output.get(name, []) if x.strip()]
            results.failures.append(TestFailure(name, clip("\n".join(lines[-5:]))))
    if not seen:
        raise ResultsError("go test printed no test events")
    return results


def parse_cargo(text: str) -> TestResults:
    """cargo test's `test result:` lines (one per test binary) → results."""
    matches = CARGO_RESULT.findall(text)
    if not matches:
        raise ResultsError("cargo test printed no `test result:` line")
    results = TestResults()
    for passed, failed, ignored in matches:
        results.passed += int(passed)
        results.failed += int(failed)
        results.skipped += int(ignored)
    results.failures = [TestFailure(name, "FAILED") for name in CARGO_FAILED.findall(text)]
    return results
