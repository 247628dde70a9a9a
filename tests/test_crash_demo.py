"""The demo's set-up is crash-safe (issue 12, K): killed before or after each of its git
commands, or at moments of its first half second, its directory is either complete (a
repository with its commit, no lock file, the demo's config: a resume runs the simulated
agents) or still empty (the demo can be started there again)."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

import pytest
from crash_support import environment, git, git_wrapper, kill_group, resume, start, wait

from orchestrator_tui.commands.demo import prepare_demo
from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.store import RunFiles, latest_run_id, read_events

SET_UP_GIT = ("init", "symbolic-ref", "add", "commit")  # the demo's own git commands


def demo(target: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    argv = ["demo", "--headless", "--approve", "all", "--dir", str(target)]
    return start(argv, {**env, "ORCHESTRATOR_TUI_DEMO_SPEED": "20"})


def settled(target: Path) -> str:
    """'empty' or 'complete'; anything else fails the test."""
    if not target.exists() or not any(target.iterdir()):
        return "empty"
    config = tomllib.loads((target / ".orchestrator" / "config.toml").read_text())
    assert config["agents"]["default"] == "simulated"
    assert (target / ".orchestrator" / "simulation.toml").is_file()
    assert list((target / ".git").glob("*.lock")) == []
    assert git(target, "log", "--format=%s") == "textkit 0.1.0"
    assert git(target, "status", "--porcelain") == ""
    return "complete"


def then_usable(target: Path) -> None:
    """An empty target takes the demo again (a killed set-up's sibling is cleared)."""
    if settled(target) == "empty":
        prepare_demo(target, 20)
        assert settled(target) == "complete"
    assert list(target.parent.glob(f".{target.name}.demo-setup-*")) == []


@pytest.mark.parametrize("call", [1, 2, 3, 4])
@pytest.mark.parametrize("when", ["before", "after"])
def test_k_killed_at_each_git_command_of_the_set_up(tmp_path: Path, call: int, when: str) -> None:
    env = environment(**git_wrapper(tmp_path / "git"), CRASH_GIT_AT=str(call), CRASH_GIT_WHEN=when)
    target = tmp_path / "demo"
    process = demo(target, env)
    code, err = wait(process, timeout=60)
    assert code == -9, err  # killed at that git command
    calls = (tmp_path / "git" / "log").read_text().split()
    assert calls[1::2][call - 1] == SET_UP_GIT[call - 1]
    assert settled(target) in ("empty", "complete")
    then_usable(target)


@pytest.mark.parametrize("delay", [0.1, 0.3, 0.5, 0.8])
def test_k_killed_at_moments_of_its_first_second(tmp_path: Path, delay: float) -> None:
    target = tmp_path / "demo"
    process = demo(target, environment())
    time.sleep(delay)
    kill_group(process)
    assert settled(target) in ("empty", "complete")
    then_usable(target)


def test_k_a_resume_after_a_kill_right_after_the_set_up_uses_the_demo_config(
    tmp_path: Path,
) -> None:
    """Killed at the first git command after the set-up (the run's own)."""
    env = environment(**git_wrapper(tmp_path / "git"), CRASH_GIT_AT="5", CRASH_GIT_WHEN="before")
    target = tmp_path / "demo"
    code, err = wait(demo(target, env), timeout=60)
    assert code == -9, err
    assert settled(target) == "complete"
    code, err = resume(target, environment())
    assert code == 0, err[-3000:]
    events = read_events(RunFiles(target, latest_run_id(target) or "").events).events
    agents = {e.agent for e in events if isinstance(e, ev.TaskStarted)}
    assert agents == {"simulated"}
