"""Which test framework a project uses, and the command that runs it.

Shared by analyze (which reports it) and test (which runs it). Order: pytest, npm test,
go test, cargo test; the first that fits wins. `{junit}` in an argv stands for the path of
the JUnit XML report the test stage asks for.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

JUNIT = "{junit}"


@dataclass(frozen=True)
class TestCommand:
    """How to run a project's tests. `report` says how results come back: junit (an XML
    file), go-json (`go test -json` lines), cargo (its summary lines) or exit (code only)."""

    __test__ = False  # not a pytest test class

    framework: str
    argv: tuple[str, ...]
    report: str = "exit"
    reason: str = ""

    def display(self) -> str:
        return " ".join(a.replace(JUNIT, "junit.xml") for a in self.argv)


def project_python(*roots: Path) -> str:
    """The project's own virtualenv Python when it has one (looked for in each root, e.g.
    the run branch's checkout and then the workspace), else ours."""
    for root in roots:
        for venv in (".venv", "venv", "env"):
            candidate = root / venv / "bin" / "python"
            if candidate.is_file():
                return str(candidate)
    return sys.executable


def uses_pytest(root: Path) -> str:
    """Why this looks like a pytest project, or '' when it does not."""
    for name in ("pytest.ini", "conftest.py"):
        if (root / name).is_file():
            return name
    pyproject = read_text(root / "pyproject.toml")
    if "[tool.pytest" in pyproject:
        return "pyproject.toml [tool.pytest]"
    if "[tool:pytest]" in read_text(root / "setup.cfg"):
        return "setup.cfg [tool:pytest]"
    if "[pytest]" in read_text(root / "tox.ini"):
        return "tox.ini [pytest]"
    for folder in ("tests", "test"):
        base = root / folder
        if base.is_dir() and (any(base.glob("test_*.py")) or any(base.glob("*_test.py"))):
            return f"{folder}/test_*.py"
    if any(root.glob("test_*.py")):
        return "test_*.py"
    return ""


def npm_test(root: Path) -> str:
    try:
        package = json.loads(read_text(root / "package.json") or "{}")
    except json.JSONDecodeError:
        return ""
    scripts = package.get("scripts") if isinstance(package, dict) else None
    script = scripts.get("test", "") if isinstance(scripts, dict) else ""
    if not isinstance(script, str) or not script or "no test specified" in script:
        return ""
    return script


def detect_test_command(root: Path, workspace: Path | None = None) -> TestCommand | None:
    """The first test framework that fits `root`, or None. A virtualenv is looked for in
    `root`, then in `workspace` (where it lives when `root` is a fresh checkout)."""
    why = uses_pytest(root)
    if why:
        python = project_python(root, *([workspace] if workspace else []))
        argv = (python, "-m", "pytest", "-q", f"--junitxml={JUNIT}")
        return TestCommand("pytest", argv, "junit", why)
    script = npm_test(root)
    if script:
        return TestCommand("npm", ("npm", "test", "--silent"), "exit", f"package.json: {script}")
    if (root / "go.mod").is_file():
        return TestCommand("go", ("go", "test", "-json", "./..."), "go-json", "go.mod")
    if (root / "Cargo.toml").is_file():
        return TestCommand("cargo", ("cargo", "test"), "cargo", "Cargo.toml")
    return None


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
