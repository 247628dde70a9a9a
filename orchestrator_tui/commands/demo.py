"""`orchestrator-tui demo`: the whole pipeline on a bundled sample project, no LLM needed.

Copies the sample project (orchestrator_tui/demo/project: a small Python package with a
PLAN.md of eight tasks) into a fresh directory — a temporary one unless `--dir` — makes it a
git repository with one commit, writes its `.orchestrator/config.toml` (default agent: the
simulated backend with the bundled script), and runs the pipeline in the app, or headless.

The environment variable ORCHESTRATOR_TUI_DEMO_SPEED sets the simulated agents' time factor
(e.g. 20 for a run of a few seconds, as the tests do).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..demo import CONFIG, PROJECT, RENAMED, SIMULATION
from ..infra.session import pid_alive
from ..infra.workspace import GitError
from ..infra.workspace import git as workspace_git
from ..resources import claude_md_example
from .common import UsageError, engine_options, run_or_open_app

SPEED_VARIABLE = "ORCHESTRATOR_TUI_DEMO_SPEED"


class DemoError(Exception):
    """The sample project could not be set up; the message says why."""


def demo_speed() -> float | None:
    raw = os.environ.get(SPEED_VARIABLE, "").strip()
    if not raw:
        return None
    try:
        speed = float(raw)
    except ValueError:
        raise DemoError(f"{SPEED_VARIABLE}={raw!r} is not a number") from None
    if speed <= 0:
        raise DemoError(f"{SPEED_VARIABLE} must be above 0")
    return speed


def demo_config(speed: float | None) -> str:
    text = CONFIG.read_text(encoding="utf-8")
    if speed is not None:
        text = text.replace("speed = 1.0", f"speed = {speed:g}", 1)
    return text


def copy_project(target: Path) -> list[str]:
    """Copy the sample project into `target`; returns the files written (relative)."""
    written = []
    for source in sorted(PROJECT.rglob("*")):
        if not source.is_file() or "__pycache__" in source.parts or source.suffix == ".pyc":
            continue
        relative = source.relative_to(PROJECT)
        relative = relative.with_name(RENAMED.get(relative.name, relative.name))
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        written.append(relative.as_posix())
    return written


def make_repository(target: Path) -> str:
    """`git init` and one commit; returns a warning instead when git cannot (the demo then
    runs without worktrees)."""
    try:
        workspace_git(target, "init", "--quiet")
        workspace_git(target, "symbolic-ref", "HEAD", "refs/heads/main")
        workspace_git(target, "add", "--all")
        workspace_git(target, "commit", "--quiet", "--no-verify", "-m", "textkit 0.1.0")
    except GitError as exc:
        return f"no git repository ({exc}): the tasks will share the directory"
    return ""


SETUP_SUFFIX = ".demo-setup-"


def prepare_demo(target: Path, speed: float | None = None) -> str:
    """Set up the sample project in `target` (created, or existing and empty); returns a
    warning ('' when none). Raises DemoError when `target` cannot be used.

    Crash-safe: everything is made in a hidden sibling directory and renamed into place at
    the end, so a kill at any moment leaves `target` either complete (repository, config,
    simulation script: `run -C target` resumes with the demo's agents) or as it was (empty:
    `demo --dir target` starts again). A sibling left by a killed set-up is removed."""
    target = target.absolute()
    if target.exists() and not target.is_dir():
        raise DemoError(f"{target} is a file, not a directory")
    if target.is_dir() and any(target.iterdir()):
        raise DemoError(f"{target} is not empty: give --dir a new or empty directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_setups(target)
        staging = target.with_name(f".{target.name}{SETUP_SUFFIX}{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        settings = staging / ".orchestrator"
        settings.mkdir()
        (settings / "config.toml").write_text(demo_config(speed), encoding="utf-8")
        shutil.copyfile(SIMULATION, settings / "simulation.toml")
        copy_project(staging)
        (staging / "CLAUDE.md").write_text(claude_md_example(), encoding="utf-8")
        warning = make_repository(staging)
        move_into_place(staging, target)
    except OSError as exc:
        raise DemoError(f"cannot set up the demo in {target}: {exc}") from None
    return warning


def remove_stale_setups(target: Path) -> None:
    """Siblings `.<name>.demo-setup-<pid>` whose process is gone (a killed set-up)."""
    for sibling in target.parent.glob(f".{target.name}{SETUP_SUFFIX}*"):
        pid = sibling.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(sibling, ignore_errors=True)


def move_into_place(staging: Path, target: Path) -> None:
    """One rename (over an empty `target` too). When `target` is our working directory,
    which a rename would leave deleted under us, its entries move one by one, the
    configuration last: until it is there, the directory holds no demo to resume."""
    if not target.exists() or target.resolve() != Path.cwd().resolve():
        os.replace(staging, target)
        return
    entries = sorted(staging.iterdir(), key=lambda p: (p.name == ".orchestrator", p.name))
    for entry in entries:
        os.replace(entry, target / entry.name)
    staging.rmdir()


def main(args: argparse.Namespace) -> int:
    target = (
        Path(args.dir).expanduser()
        if args.dir
        else Path(tempfile.mkdtemp(prefix="orchestrator-demo-"))
    )
    try:
        warning = prepare_demo(target, demo_speed())
        options = engine_options(args, target, resume=False)
    except (DemoError, UsageError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 2
    print(f"demo project: {target.resolve()}", file=sys.stderr)
    if warning:
        print(f"demo: {warning}", file=sys.stderr)
    code = run_or_open_app(args, options)
    print(
        f"\nThe demo project stays in {target.resolve()} (reports: .orchestrator/runs/; "
        "the run's commits: `git log --oneline --graph`).",
        file=sys.stderr,
    )
    return code
