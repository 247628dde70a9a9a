"""The engine (built as the CLI builds it) running fake claude agents in real git worktrees."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agent_support import fake, git, make_repo, pid_alive, wait_dead
from crash_support import lifelines_of
from engine_support import Background, Recorder

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict, load_config
from orchestrator_tui.core.models import STAGES, StageName, TaskStatus
from orchestrator_tui.engine.pipeline import Engine, EngineOptions
from orchestrator_tui.infra.store import RunFiles, latest_run_id, read_events
from orchestrator_tui.runtime import build_engine

SIX_TASKS = """\
# Plan: A team of fake agents

Six tasks with a diamond of dependencies.

## A: Base
depends: none
files: base.txt

WRITE_FILE: base.txt
CONTENT: base

## B: Left
depends: A
files: left.txt

WRITE_FILE: left.txt
CONTENT: left

## C: Right
depends: A
files: right.txt

WRITE_FILE: right.txt
CONTENT: right

## D: Join
depends: B, C
files: join.txt

WRITE_FILE: join.txt
CONTENT: join

## E: Docs
depends: none
files: docs.txt

WRITE_FILE: docs.txt
CONTENT: docs

## F: Final
depends: D, E
files: final.txt

WRITE_FILE: final.txt
CONTENT: final
"""

FILE_OF = {"A": "base", "B": "left", "C": "right", "D": "join", "E": "docs", "F": "final"}

CONFLICT = """\
# Plan: Two writers of one file

## X: One writer
depends: none

WRITE_FILE: same.txt
CONTENT: written by X

## Y: Other writer
depends: none

WRITE_FILE: same.txt
CONTENT: written by Y

## Z: After both
depends: X, Y
files: z.txt

WRITE_FILE: z.txt
CONTENT: z
"""


def claude_engine(
    tmp_path: Path, plan: str, recorder: Recorder, extra_env: dict | None = None, **sections
) -> tuple[Engine, Path]:
    workspace = make_repo(tmp_path / "ws", {"README.md": "project\n", "PLAN.md": plan})
    data: dict = {
        "agents": {
            "default": "claude",
            "claude": {"backend": "claude", "executable": fake("claude")},
        },
        "run": {"retries": 0, "retry_backoff": 0.05, "concurrency": 3, "isolation": "auto"},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    options = EngineOptions(
        workspace=workspace,
        config=config_from_dict(data),
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.01,
        heartbeat=0.2,
        extra_env={"HOME": str(tmp_path / "home"), **(extra_env or {})},
    )
    return build_engine(options, [recorder]), workspace


def implement_done(recorder: Recorder, timeout: float = 60.0) -> ev.StageFinished:
    return recorder.wait_for(  # type: ignore[return-value]
        lambda e: isinstance(e, ev.StageFinished) and e.stage == StageName.IMPLEMENT, timeout
    )


def result_of(files: RunFiles, task_id: str) -> dict:
    for line in files.log(task_id).read_text().splitlines():
        if line.startswith('{"type":"result"'):
            return json.loads(line)
    raise AssertionError(f"no result line in {task_id}'s log")


def test_six_tasks_with_a_diamond_run_in_worktrees_and_merge_in_order(tmp_path: Path) -> None:
    recorder = Recorder()
    engine, workspace = claude_engine(tmp_path, SIX_TASKS, recorder)
    user_head = git(workspace, "rev-parse", "HEAD")
    with Background(engine):
        finished = implement_done(recorder)
        assert finished.status == "done", finished.details
    run_id = engine.state.run_id
    branch = f"orch/{run_id}"
    state = engine.state
    assert {t: s.status for t, s in state.tasks.items()} == dict.fromkeys("ABCDEF", TaskStatus.DONE)

    # each task ran in its own worktree, and those are gone after their merge
    started = {e.task: e.workdir for e in recorder.of(ev.TaskStarted)}
    for task_id, workdir in started.items():
        assert workdir == str(workspace / ".orchestrator" / "worktrees" / task_id)
        assert not Path(workdir).exists()
    assert git(workspace, "branch", "--list", f"orch/tasks/{run_id}/*") == ""

    # everything is on the run branch; the user's branch and files were not touched (yet)
    tree = set(git(workspace, "ls-tree", "--name-only", branch).splitlines())
    assert {f"{name}.txt" for name in ("base", "left", "right", "join", "docs", "final")} <= tree
    assert git(workspace, "show", f"{branch}:join.txt") == "join"
    merged = [e.task for e in recorder.of(ev.TaskMerged)]
    order = [
        line.removeprefix("Merge ").split(":")[0]
        for line in git(
            workspace, "log", "--first-parent", "--reverse", "--format=%s", branch
        ).splitlines()
        if line.startswith("Merge ")
    ]
    assert order == merged and sorted(order) == list("ABCDEF")
    plan = {t.id: t for t in engine.plan.tasks}  # type: ignore[union-attr]
    for task_id in order:
        for dependency in plan[task_id].depends:
            assert order.index(dependency) < order.index(task_id)
    # D's own commit was made on top of B's and C's merged work
    d_commit = git(workspace, "log", "-1", "--format=%H", "--grep=^D: Join$", branch)
    for dependency in ("B: Left", "C: Right"):
        dep_commit = git(workspace, "log", "-1", "--format=%H", f"--grep=^{dependency}$", branch)
        git(workspace, "merge-base", "--is-ancestor", dep_commit, d_commit)
    if git(workspace, "rev-parse", "main") == user_head:  # complete may land it later
        assert not (workspace / "join.txt").exists()

    # tokens and cost per task, as the agent's result line reported them
    files = RunFiles(workspace, run_id)
    for task_id, task in state.tasks.items():
        final = result_of(files, task_id)
        assert task.cost_usd == final["total_cost_usd"] > 0
        assert task.input_tokens == final["usage"]["input_tokens"]
        assert task.output_tokens == final["usage"]["output_tokens"]
        assert task.session_id == final["session_id"]
        assert task.changed_files == (f"{FILE_OF[task_id]}.txt",)
    assert finished.evidence["cost_usd"] == round(sum(t.cost_usd for t in state.tasks.values()), 6)


def test_a_merge_conflict_is_caught_shown_and_blocks_dependents(tmp_path: Path) -> None:
    recorder = Recorder()
    engine, workspace = claude_engine(tmp_path, CONFLICT, recorder)
    with Background(engine):
        finished = implement_done(recorder)
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened) and e.stage == "implement")
    assert finished.status == "failed"
    assert "1 conflict" in finished.summary and "1 blocked" in finished.summary
    conflicts = recorder.of(ev.MergeConflict)
    assert len(conflicts) == 1 and conflicts[0].files == ("same.txt",)
    loser = conflicts[0].task
    winner = "Y" if loser == "X" else "X"
    state = engine.state
    assert state.tasks[loser].status == TaskStatus.CONFLICT
    assert state.tasks[loser].reason == "merge conflict: same.txt"
    assert state.tasks[winner].status == TaskStatus.DONE
    assert state.tasks["Z"].status == TaskStatus.BLOCKED
    assert state.tasks["Z"].reason.startswith(f"{loser} has a merge conflict")
    assert "Z" not in {e.task for e in recorder.of(ev.TaskStarted)}
    # the winner's content is on the run branch; the loser's worktree is kept for the user
    branch = f"orch/{engine.state.run_id}"
    assert git(workspace, "show", f"{branch}:same.txt") == f"written by {winner}"
    kept = workspace / ".orchestrator" / "worktrees" / loser
    assert (kept / "same.txt").read_text() == f"written by {loser}\n"


def test_a_run_budget_stops_new_work_with_real_agent_usage(tmp_path: Path) -> None:
    recorder = Recorder()
    engine, _ = claude_engine(
        tmp_path, SIX_TASKS, recorder, budget={"tokens": 100}, run={"concurrency": 1}
    )
    with Background(engine):
        finished = implement_done(recorder)
    reached = recorder.of(ev.BudgetReached)
    assert reached and reached[0].scope == "run"
    started = [e.task for e in recorder.of(ev.TaskStarted)]
    assert len(started) == 1  # the first task's tokens spent the budget: nothing new started
    assert finished.status == "failed" and "budget reached" in finished.summary
    assert engine.state.tasks[started[0]].tokens > 100


def test_a_task_budget_stops_the_running_agent(tmp_path: Path) -> None:
    plan = "# Plan: one slow task\n\n## S: Slow\ndepends: none\n\nSCENARIO: slow\n"
    recorder = Recorder()
    engine, _ = claude_engine(
        tmp_path, plan, recorder, {"FAKE_AGENT_SLOW_DELAY": "0.3"}, budget={"task_tokens": 200}
    )
    with Background(engine):
        implement_done(recorder)
    task = engine.state.tasks["S"]
    assert task.status == TaskStatus.FAILED
    assert task.reason == "task budget reached"
    assert 200 <= task.tokens < 600  # stopped after its second message, not at the end
    assert [e.scope for e in recorder.of(ev.BudgetReached)] == ["task S"]


def test_a_missing_agent_executable_fails_each_task_with_the_reason(tmp_path: Path) -> None:
    recorder = Recorder()
    engine, _ = claude_engine(
        tmp_path,
        "# Plan: p\n\n## T1: One\ndepends: none\n\n## T2: Two\ndepends: T1\n",
        recorder,
        agents={"claude": {"backend": "claude", "executable": str(tmp_path / "no" / "claude")}},
        run={"retries": 2},
    )
    with Background(engine):
        gate = recorder.wait_for(
            lambda e: isinstance(e, ev.GateOpened) and e.stage == StageName.PARALLEL
        )
        assert gate.blockers  # the preflight found it (tests/test_preflight.py); approved anyway
        engine.submit("approve", by="app")
        implement_done(recorder)
    assert [e.task for e in recorder.of(ev.TaskStarted)] == ["T1"]  # failed at once, no retry
    t1 = engine.state.tasks["T1"]
    assert t1.status == TaskStatus.FAILED
    assert t1.reason.startswith("executable not found:")
    assert "agents.claude.executable" in t1.reason
    assert engine.state.tasks["T2"].status == TaskStatus.BLOCKED
    # the failed task's worktree stays for a look; a retry starts it afresh
    assert os.path.exists(tmp_path / "ws" / ".orchestrator" / "worktrees" / "T1")


KILL_PLAN = """\
# Plan: killed mid-run

## A: Quick
depends: none
files: a.txt

WRITE_FILE: a.txt
CONTENT: a

## B: Slow
depends: none
files: b.txt

SCENARIO: slow

## C: After
depends: A, B
files: c.txt

WRITE_FILE: c.txt
CONTENT: c
"""


def test_sigkill_of_the_orchestrator_mid_implement_then_resume(tmp_path: Path) -> None:
    workspace = make_repo(tmp_path / "ws", {"README.md": "project\n", "PLAN.md": KILL_PLAN})
    (workspace / ".orchestrator").mkdir()
    (workspace / ".orchestrator" / "config.toml").write_text(
        f'[run]\nretries = 0\nconcurrency = 2\n[agents]\ndefault = "claude"\n'
        f'[agents.claude]\nbackend = "claude"\nexecutable = "{fake("claude")}"\n'
    )
    invocations = tmp_path / "invocations.jsonl"
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "FAKE_AGENT_LOG": str(invocations),
        "FAKE_AGENT_SLOW_DELAY": "30",  # no write (and no EPIPE death) before resume
    }
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator_tui",
            "run",
            "--headless",
            "--approve",
            "all",
            "-C",
            str(workspace),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:

        def seen() -> set[str]:
            run_id = latest_run_id(workspace)
            if not run_id:
                return set()
            events = read_events(RunFiles(workspace, run_id).events).events
            return {f"{e.kind}:{getattr(e, 'task', '')}" for e in events}

        def slow_agents() -> list[int]:  # B's agent, once it has started (a loaded machine
            # can take a while between the task's start and the agent's first write)
            lines = invocations.read_text().splitlines() if invocations.exists() else []
            return [
                json.loads(line)["pid"]
                for line in lines
                if json.loads(line)["cwd"].endswith("/worktrees/B")
            ]

        deadline = time.monotonic() + 60
        while not ({"task_merged:A", "task_started:B"} <= seen() and slow_agents()):
            assert time.monotonic() < deadline, "the first run never got A merged and B going"
            assert first.poll() is None, "the first run ended early"
            time.sleep(0.05)
    finally:
        # Its lifeline would kill the agent at once (tests/test_crash_tools.py): kill it
        # first, so that only the pidfile is left to find the agent by.
        for lifeline in lifelines_of(first.pid):
            os.kill(lifeline, signal.SIGKILL)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    slow_agent = slow_agents()[0]
    assert pid_alive(slow_agent)  # the agent outlived its orchestrator

    recorder = Recorder()
    options = EngineOptions(
        workspace=workspace,
        config=load_config(workspace),
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.01,
        extra_env={"HOME": str(tmp_path / "home"), "FAKE_AGENT_SLOW_DELAY": "0.05"},
    )
    engine = build_engine(options, [recorder])
    with Background(engine):
        finished = implement_done(recorder)
    assert finished.status == "done", finished.details
    assert wait_dead(slow_agent), "the old agent of B is still running"
    assert any("left from an earlier attempt" in e.text for e in recorder.of(ev.Notice))
    branch = f"orch/{engine.state.run_id}"
    merges = git(workspace, "log", "--first-parent", "--format=%s", branch).splitlines()
    assert merges.count("Merge A: Quick") == 1 and merges.count("Merge C: After") == 1
    assert git(workspace, "show", f"{branch}:c.txt") == "c"
    assert sorted(p.name for p in (workspace / ".orchestrator" / "worktrees").iterdir()) == ["_run"]
