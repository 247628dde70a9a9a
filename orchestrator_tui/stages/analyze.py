"""Stage 1, analyze: map the workspace into analysis.md.

Languages by files and lines, the top-level layout, the Python import graph (the modules
most others import), the test framework and its command, and the git state. Built for
speed (one read per file, regexes instead of parsing; a 5,000-file repository maps in well
under 2 s, see bench/analyze.py). With an agent configured for analyze, the agent reads the
map and adds its notes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.protocols import StageContext, StageResult
from ..infra.fsutil import atomic_write
from .changes import git, is_git_repo
from .detect import detect_test_command, project_python
from .imports import ImportGraph, build_import_graph
from .pyenv import describe
from .stage_agent import agent_failure, run_stage_agent, stage_agent_profile, stage_prompt

MAX_READ_BYTES = 2_000_000
SKIPPED_DIRS = (
    ".git .orchestrator .hg .svn node_modules .venv venv __pycache__ .mypy_cache .pytest_cache "
    ".ruff_cache .tox .nox dist build target .idea .vscode .eggs"
)
SKIP_DIRS = frozenset(SKIPPED_DIRS.split())
EXTENSIONS_OF = {
    "Python": ".py .pyi",
    "JavaScript": ".js .mjs .cjs .jsx",
    "TypeScript": ".ts .tsx",
    "Go": ".go",
    "Rust": ".rs",
    "Java": ".java",
    "Kotlin": ".kt",
    "Ruby": ".rb",
    "PHP": ".php",
    "C": ".c .h",
    "C++": ".cc .cpp .hpp",
    "C#": ".cs",
    "Swift": ".swift",
    "Shell": ".sh .bash",
    "Markdown": ".md",
    "reST": ".rst",
    "TOML": ".toml",
    "YAML": ".yaml .yml",
    "JSON": ".json",
    "HTML": ".html",
    "CSS": ".css .scss .tcss",
    "SQL": ".sql",
    "Text": ".txt",
    "INI": ".cfg .ini",
    "XML": ".xml",
}
LANGUAGES = {ext: lang for lang, exts in EXTENSIONS_OF.items() for ext in exts.split()}
SPECIAL_NAMES = {"Dockerfile": "Dockerfile", "Makefile": "Makefile"}


@dataclass
class Tally:
    files: int = 0
    lines: int = 0
    languages: dict[str, int] = field(default_factory=dict)

    def add(self, language: str, lines: int) -> None:
        self.files += 1
        self.lines += lines
        self.languages[language] = self.languages.get(language, 0) + 1


@dataclass
class ProjectMap:
    """What analyze found; rendered to analysis.md and summarized as evidence."""

    root: Path
    files: int = 0
    lines: int = 0
    binary: int = 0
    languages: dict[str, Tally] = field(default_factory=dict)
    layout: dict[str, Tally] = field(default_factory=dict)
    imports: ImportGraph = field(default_factory=ImportGraph)
    test: dict[str, str] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    listed_by: str = ""
    seconds: float = 0.0


def language_of(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name in SPECIAL_NAMES:
        return SPECIAL_NAMES[name]
    dot = name.rfind(".")
    return LANGUAGES.get(name[dot:].lower(), "Other") if dot > 0 else "Other"


def list_files(root: Path) -> tuple[list[str], str]:
    """Every file worth mapping, relative and POSIX style; git's view when there is one."""
    if is_git_repo(root):
        listed = git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        if listed.ok:
            names = [n for n in listed.output.split("\0") if n]
            return [n for n in dict.fromkeys(names) if not skipped(n)], "git ls-files"
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        relative = os.path.relpath(folder, root)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        found.extend(prefix + name for name in sorted(files))
    return found, "a directory walk"


def skipped(path: str) -> bool:
    return any(part in SKIP_DIRS for part in path.split("/")[:-1])


def build_map(root: Path) -> ProjectMap:
    """Map `root`; never raises for unreadable files (they count as binary)."""
    started = time.perf_counter()
    project = ProjectMap(root=root)
    names, project.listed_by = list_files(root)
    python_sources: dict[str, str] = {}
    base = str(root)
    for name in names:
        data = read_head(os.path.join(base, name))
        if data is None or b"\x00" in data[:8192]:
            project.binary += 1
            continue
        lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        language = language_of(name)
        project.files += 1
        project.lines += lines
        project.languages.setdefault(language, Tally()).add(language, lines)
        top = name.split("/", 1)[0] + ("/" if "/" in name else "")
        project.layout.setdefault(top, Tally()).add(language, lines)
        if language == "Python" and name.endswith(".py"):
            python_sources[name] = data.decode("utf-8", errors="replace")
    project.imports = build_import_graph(python_sources)
    command = detect_test_command(root)
    if command is not None:
        project.test = {
            "framework": command.framework,
            "command": command.display(),
            "found": command.reason,
        }
    project.git = git_state(root)
    project.seconds = time.perf_counter() - started
    return project


def read_head(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_READ_BYTES)
    except OSError:
        return None


def git_state(root: Path) -> dict[str, Any]:
    if not is_git_repo(root):
        return {}
    branch = git(root, "rev-parse", "--abbrev-ref", "HEAD")
    head = git(root, "rev-parse", "HEAD")
    last = git(root, "log", "-1", "--format=%h %s")
    status = git(root, "status", "--porcelain")
    dirty = [
        line for line in status.output.splitlines() if not line[3:].startswith(".orchestrator")
    ]
    return {
        "branch": branch.output.strip() if branch.ok else "",
        "head": head.output.strip() if head.ok else "",
        "last_commit": last.output.strip() if last.ok else "(no commits yet)",
        "dirty": len(dirty),
        "dirty_files": [line[3:] for line in dirty[:20]],
    }


def render(project: ProjectMap, run_id: str) -> str:
    lines = [
        f"# Analysis of {project.root.name or project.root}",
        "",
        f"Built by orchestrator-tui for run {run_id} in {project.seconds:.2f} s "
        f"(files listed by {project.listed_by}).",
        "",
        "## Summary",
        "",
        f"- {project.files:,} text files, {project.lines:,} lines"
        + (f"; {project.binary:,} binary or unreadable files" if project.binary else ""),
        f"- Languages: {language_line(project) or 'none found'}",
        f"- Tests: {test_line(project)}",
        f"- Git: {git_line(project)}",
        "",
        "## Languages",
        "",
        "| language | files | lines |",
        "|---|---:|---:|",
    ]
    for language, tally in sorted(project.languages.items(), key=lambda i: -i[1].lines):
        lines.append(f"| {language} | {tally.files:,} | {tally.lines:,} |")
    lines += ["", "## Layout", "", "| path | files | lines | mostly |", "|---|---:|---:|---|"]
    for top, tally in sorted(project.layout.items(), key=lambda i: (not i[0].endswith("/"), i[0])):
        mostly = ", ".join(n for n, _ in sorted(tally.languages.items(), key=lambda i: -i[1])[:3])
        lines.append(f"| `{top}` | {tally.files:,} | {tally.lines:,} | {mostly} |")
    lines += ["", *project.imports.render()]
    if project.git.get("dirty_files"):
        lines += ["", "## Uncommitted changes", ""]
        lines += [f"- `{name}`" for name in project.git["dirty_files"]]
    return "\n".join(lines) + "\n"


def short_summary(project: ProjectMap) -> str:
    """One line: size, main languages, tests, git."""
    ranked = sorted(project.languages.items(), key=lambda i: -i[1].lines)
    languages = ", ".join(name for name, _ in ranked[:3]) or "no code"
    tests = project.test.get("framework", "none found")
    git_info = project.git
    where = "no git"
    if git_info:
        dirty = git_info["dirty"]
        where = f"git {git_info['branch']}, " + ("clean" if not dirty else f"{dirty} changed")
    return (
        f"{plural(project.files, 'file')}, {project.lines:,} lines ({languages}); "
        f"tests: {tests}; {where}"
    )


def language_line(project: ProjectMap) -> str:
    ranked = sorted(project.languages.items(), key=lambda i: -i[1].lines)
    return ", ".join(f"{n} ({plural(t.files, 'file')}, {t.lines:,} lines)" for n, t in ranked[:5])


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'s' * (count != 1)}"


def test_line(project: ProjectMap) -> str:
    if not project.test:
        return "no test framework found"
    test = project.test
    return f"{test['framework']}: `{test['command']}` (found {test['found']})"


def git_line(project: ProjectMap) -> str:
    info = project.git
    if not info:
        return "not a git repository"
    dirty = info["dirty"]
    state = "clean" if not dirty else plural(dirty, "uncommitted change")
    return f"branch {info['branch']} at {info['last_commit']}; {state}"


def evidence_of(project: ProjectMap, report: Path) -> dict[str, Any]:
    ranked = sorted(project.languages.items(), key=lambda i: -i[1].lines)
    return {
        "report": str(report),
        "files": project.files,
        "lines": project.lines,
        "languages": {n: {"files": t.files, "lines": t.lines} for n, t in ranked[:8]},
        "python_modules": len(project.imports.modules),
        "most_imported": [name for name, _ in project.imports.most_imported(5)],
        "test": project.test,
        "git": {k: v for k, v in project.git.items() if k != "dirty_files"},
        "seconds": round(project.seconds, 3),
    }


PYTHON_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg")


def is_python_project(project: ProjectMap) -> bool:
    return "Python" in project.languages or any(
        (project.root / name).is_file() for name in PYTHON_MARKERS
    )


class AnalyzeRunner:
    """The built-in analyze stage."""

    def run(self, ctx: StageContext) -> StageResult:
        if not ctx.workspace.is_dir():
            return StageResult(ok=False, summary=f"{ctx.workspace} is not a directory")
        project = build_map(ctx.workspace)
        report = ctx.run_dir / "analysis.md"
        text = render(project, ctx.run_id)
        env_lines, python_env = (
            describe(ctx.workspace, project_python(ctx.workspace))
            if is_python_project(project)
            else ([], {})  # no interpreter to start for a workspace without Python
        )
        text = text.rstrip("\n") + "\n" + "\n".join(env_lines) + "\n" if env_lines else text
        summary = short_summary(project)
        ok, problem = True, ""
        profile = stage_agent_profile(ctx)
        if profile:
            atomic_write(report, text)
            prompt = stage_prompt(ctx, [("The built-in map (" + str(report) + ")", text)])
            result = run_stage_agent(ctx, profile, prompt)
            if result.ok:
                text += "\n## Agent notes\n\n" + (result.final_text.strip() or "(none)") + "\n"
                summary += f"; notes by {profile}"
            else:
                ok, problem = False, agent_failure(profile, result)
        atomic_write(report, text)
        evidence = evidence_of(project, report)
        if python_env:
            evidence["python_env"] = python_env
        if problem:
            return StageResult(
                ok=False,
                summary=f"map written, but {problem}",
                details=f"The built-in map is in `{report}`; retry to run the agent again, "
                f"or skip.\n\n{text}",
                evidence=evidence,
            )
        return StageResult(ok=ok, summary=summary, details=text, evidence=evidence)
