"""How long does the analyze stage take on a 5,000-file repository? (The promise: ≤ 2 s.)

Generates a repository of `--files` files (Python packages with imports between modules,
tests, JavaScript, Markdown, JSON; ~40 lines each), commits it, then times the analyze
map (orchestrator_tui.stages.analyze.build_map) `--repeat` times with git's file listing
and with a plain directory walk (the same tree without .git), and the whole stage runner
(map + analysis.md). Not a test: it prints.

    python bench/analyze.py [--files 5000] [--repeat 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from orchestrator_tui.core.config import Config
from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.protocols import AgentResult, StageContext
from orchestrator_tui.core.state import RunState
from orchestrator_tui.infra.workspace import git_env
from orchestrator_tui.stages.analyze import AnalyzeRunner, build_map

KINDS = (("py", 0.6), ("js", 0.15), ("md", 0.1), ("json", 0.1), ("txt", 0.05))


def python_source(rng: random.Random, package: str, modules: list[str]) -> str:
    imports = rng.sample(modules, min(len(modules), rng.randint(0, 4)))
    lines = [f"from {package} import {name}" for name in imports]
    lines += ["import os", "import json", ""]
    for n in range(rng.randint(3, 8)):
        lines += [f"def function_{n}(value):", f"    return value * {n} + len(os.sep)", ""]
    return "\n".join(lines) + "\n"


def generate(root: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    packages = [f"pkg{n}" for n in range(max(count // 100, 1))]
    modules = {p: [f"mod{n}" for n in range(60)] for p in packages}
    names = [kind for kind, _ in KINDS]
    weights = [w for _, w in KINDS]
    made = 0
    for package in packages:
        (root / "src" / package).mkdir(parents=True, exist_ok=True)
        (root / "src" / package / "__init__.py").write_text('"""A package."""\n')
        made += 1
    while made < count:
        kind = rng.choices(names, weights)[0]
        package = rng.choice(packages)
        if kind == "py":
            module = rng.choice(modules[package])
            path = root / "src" / package / f"{module}_{made}.py"
            if rng.random() < 0.2:
                path = root / "tests" / f"test_{package}_{made}.py"
            text = python_source(rng, package, modules[package])
        elif kind == "js":
            path = root / "web" / package / f"part{made}.js"
            text = "\n".join(f"export const v{n} = {n};" for n in range(40)) + "\n"
        elif kind == "md":
            path = root / "docs" / f"page{made}.md"
            text = "# Page\n\n" + "Some words about the code.\n" * 30
        elif kind == "json":
            path = root / "data" / f"item{made}.json"
            text = "{\n" + ",\n".join(f'  "k{n}": {n}' for n in range(30)) + "\n}\n"
        else:
            path = root / "notes" / f"note{made}.txt"
            text = "note\n" * 20
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        made += 1
    (root / "pyproject.toml").write_text("[tool.pytest.ini_options]\ntestpaths = ['tests']\n")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=git_env(), check=True, capture_output=True)


def timed(action, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def stage_context(root: Path, run_dir: Path) -> StageContext:
    return StageContext(
        stage=StageName.ANALYZE,
        run_id="bench",
        workspace=root,
        run_dir=run_dir,
        config=Config(),
        attempt=1,
        feedback="",
        instructions="",
        goal="",
        plan=None,
        state=RunState(),
        cancel=threading.Event(),
        notice=lambda level, text: None,
        run_agent=lambda prompt, profile: AgentResult(ok=False),
    )


def report(label: str, times: list[float]) -> float:
    best, median = min(times), statistics.median(times)
    print(f"{label:<34} best {best:6.3f} s   median {median:6.3f} s")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", default="", help="generate here and keep it")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-analyze-"))
    repo, plain = base / "repo", base / "plain"
    try:
        started = time.perf_counter()
        generate(repo, args.files)
        shutil.copytree(repo, plain)
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "generated")
        print(f"generated {args.files:,} files in {time.perf_counter() - started:.1f} s")
        project = build_map(repo)
        print(
            f"map: {project.files:,} files, {project.lines:,} lines, "
            f"{len(project.imports.modules):,} Python modules, "
            f"{project.imports.edges:,} import edges"
        )
        with_git = report("build_map, git ls-files", timed(lambda: build_map(repo), args.repeat))
        walked = report("build_map, directory walk", timed(lambda: build_map(plain), args.repeat))
        run_dir = base / "run"
        run_dir.mkdir(exist_ok=True)
        runner = AnalyzeRunner()
        ctx = stage_context(repo, run_dir)
        whole = report(
            "AnalyzeRunner.run (+ analysis.md)", timed(lambda: runner.run(ctx), args.repeat)
        )
        print(f"walk ÷ git listing: {walked / with_git:.2f}")
        verdict = "within" if whole <= 2.0 else "OVER"
        print(f"promise ≤ 2 s for {args.files:,} files: {whole:.3f} s median, {verdict}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
