"""`orchestrator-tui demo`: the bundled sample runs all nine stages for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from orchestrator_tui.commands.demo import DemoError, prepare_demo
from orchestrator_tui.core.plan import parse_plan
from orchestrator_tui.core.scheduler import schedule
from orchestrator_tui.demo import PROJECT, SIMULATION

CLI = [sys.executable, "-m", "orchestrator_tui"]


def run_demo(*args: str, speed: str = "25", timeout: float = 120) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ORCHESTRATOR_TUI_DEMO_SPEED": speed,
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",  # the demo's pytest needs none of ours
        "COLUMNS": "200",
    }
    return subprocess.run(
        [*CLI, "demo", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def test_the_headless_demo_runs_all_nine_stages(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    done = run_demo("--headless", "--approve", "all", "--dir", str(target))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = (target / ".orchestrator" / "runs").iterdir()
    state = json.loads((run_dir / "state.json").read_text())
    assert state["outcome"] == "complete"
    assert {s["status"] for s in state["stages"].values()} == {"approved"}
    assert not any(s["passthrough"] for s in state["stages"].values())
    assert state["tasks"]["T3"]["attempt"] == 2
    summary = (run_dir / "summary.md").read_text()
    assert "**ready**" in summary
    assert "- [x] tasks done and merged: 8/8" in summary
    assert "23 passed, 0 failed, 0 errors, 0 skipped" in summary  # real pytest counts
    assert "medium — bandit B108 at `textkit/cache.py:10`" in summary
    assert "- T3: attempt 1: exit 1; retrying in 0.5 s; then done on attempt 2" in summary
    sarif = json.loads((run_dir / "security.sarif").read_text())
    rules = [r["ruleId"] for run in sarif["runs"] for r in run["results"]]
    assert rules == ["B108"]
    security = state["stages"]["security"]["evidence"]
    assert security["counts"] == {"high": 0, "medium": 1, "low": 0}
    cleanup = state["stages"]["cleanup"]["evidence"]
    assert "textkit/counts.py" in cleanup["changed"]
    # the run landed on main: the code is in the user's checkout, tidied by cleanup
    counts = (target / "textkit" / "counts.py").read_text()
    assert "import os" not in counts and "def top_words(text: str, n: int = 5)" in counts
    log = subprocess.run(
        ["git", "log", "--topo-order", "--format=%s"],
        cwd=target,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Merge T6: Command line" in log and log.splitlines()[-1] == "textkit 0.1.0"
    assert "summary" in done.stdout and "textkit 0.2" in done.stdout  # the console printed it
    assert f"demo project: {target.resolve()}" in done.stderr


def test_demo_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    done = run_demo("--headless", "--dir", str(tmp_path), timeout=60)
    assert done.returncode == 2
    assert "is not empty" in done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_demo_refuses_a_file_and_a_bad_speed(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(DemoError, match="is a file"):
        prepare_demo(tmp_path / "file")
    done = run_demo("--headless", "--dir", str(tmp_path / "new"), speed="fast", timeout=60)
    assert done.returncode == 2 and "is not a number" in done.stderr


def test_prepared_project_is_a_committed_git_repo_with_config(tmp_path: Path) -> None:
    assert prepare_demo(tmp_path / "d", speed=3) == ""
    target = tmp_path / "d"
    assert (target / ".gitignore").is_file() and (target / "CLAUDE.md").is_file()
    config = tomllib.loads((target / ".orchestrator" / "config.toml").read_text())
    assert config["agents"]["default"] == "simulated"
    assert config["agents"]["simulated"]["speed"] == 3
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=target, capture_output=True, text=True, check=True
    )
    assert status.stdout == ""  # .orchestrator/ is ignored, everything else committed


def test_the_bundled_plan_and_script_fit_together() -> None:
    plan = parse_plan(PROJECT / "PLAN.md")
    assert len(plan.tasks) == 8
    shape = schedule(plan.tasks)
    assert shape.overlaps == [["T6", "T7"]]  # two tasks share textkit/__init__.py
    assert max(len(t.depends) for t in plan.tasks) == 2
    script = tomllib.loads(SIMULATION.read_text())
    for task in plan.tasks:
        written = set(script["tasks"][task.id]["write"])
        assert written <= set(task.files), task.id  # no scope creep in the demo
    assert script["tasks"]["T3"]["fail_attempts"] == 1
