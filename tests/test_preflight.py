"""A missing agent program is found before implement starts (issue 12, item 7): the parallel
gate lists every profile the plan's tasks will use, found or missing on PATH, and a missing
one keeps `--approve all` from passing; a task whose program does not exist fails at once
and is never retried with backoff."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from agent_support import RecordingEvents, make_job
from test_decisions import fold, planned
from test_headless_ci import run, workspace

from orchestrator_tui.agents import make_backend
from orchestrator_tui.agents.programs import locate
from orchestrator_tui.core import decisions
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import AgentProfile, config_from_dict
from orchestrator_tui.core.decisions import Attempt
from orchestrator_tui.core.models import StageName, Task
from orchestrator_tui.core.protocols import AgentProgram, AgentResult
from orchestrator_tui.core.state import RunState
from orchestrator_tui.engine.preflight import check_programs
from orchestrator_tui.infra.store import RunFiles, latest_run_id, read_events

MISSING = "claude-not-installed-xyz"


def config(**agents: dict) -> object:
    return config_from_dict({"agents": {"default": "simulated", **agents}})


def test_an_attempt_that_cannot_start_is_not_retried_whatever_the_retries() -> None:
    state = fold(ev.TaskStarted(task="A", attempt=1), state=planned())
    missing = AgentResult(
        ok=False, reason=f"executable not found: {MISSING}", exit_code=None, retryable=False
    )
    outcome = decisions.after_attempt(state, Attempt("A", 1, 0.0, missing), ["B"], 5, 1, False)
    assert outcome.retry_in is None
    assert outcome.failed == f"executable not found: {MISSING}"
    finished = outcome.events[0]
    assert isinstance(finished, ev.TaskFinished) and not finished.will_retry


def run_backend(tmp_path: Path, profile: AgentProfile, task: Task | None = None, **job: object):  # type: ignore[no-untyped-def]
    made = make_job(tmp_path, "hi", profile, task=task, **job)
    backend = make_backend(tmp_path, profile.backend, profile)
    return backend.run(made, RecordingEvents(), threading.Event())


@pytest.mark.parametrize(
    "profile",
    [
        AgentProfile(backend="claude", executable=MISSING),
        AgentProfile(backend="codex", executable=MISSING),
        AgentProfile(backend="command", command=[MISSING, "{prompt_file}"]),
        AgentProfile(backend="acp", command=[MISSING]),
    ],
    ids=["claude", "codex", "command", "acp"],
)
def test_a_missing_program_is_a_result_no_retry_can_help(
    tmp_path: Path, profile: AgentProfile
) -> None:
    result = run_backend(tmp_path, profile)
    assert not result.ok and result.reason.startswith(f"executable not found: {MISSING}")
    assert result.retryable is False


def test_a_shell_task_that_cannot_run_is_not_retried_but_a_lost_workdir_is(
    tmp_path: Path,
) -> None:
    shell = AgentProfile(backend="shell")
    no_line = run_backend(tmp_path, shell, Task(id="T1", title="t"))
    assert no_line.retryable is False and "no `run:` line" in no_line.reason
    no_tool = run_backend(tmp_path, shell, Task(id="T1", title="t", run=f"{MISSING} --x"))
    assert no_tool.retryable is False
    gone = tmp_path / "gone"
    job = make_job(tmp_path, "hi", shell, task=Task(id="T1", title="t", run="true"), workdir=gone)
    gone.rmdir()  # the worktree went away before the agent started: worth another attempt
    lost = make_backend(tmp_path, "shell", shell).run(job, RecordingEvents(), threading.Event())
    assert not lost.ok and "does not exist" in lost.reason and lost.retryable


def test_the_preflight_lists_each_profile_its_tasks_and_blocks_on_a_missing_one() -> None:
    cfg = config(ghost={"backend": "claude", "executable": MISSING}, sim={"backend": "simulated"})
    tasks = (
        Task(id="T1", title="a", agent="ghost"),
        Task(id="T2", title="b"),
        Task(id="T3", title="c", agent="ghost"),
        Task(id="T4", title="d", agent="nobody"),
        Task(id="T5", title="e", agent="ghost", skip=True),
    )

    def where(name: str, profile: AgentProfile) -> AgentProgram:
        if profile.backend == "simulated":
            return AgentProgram("", note="built in")
        return AgentProgram(MISSING)

    checked = check_programs(tasks, RunState(), cfg, where)  # type: ignore[arg-type]
    assert [(e["profile"], e["found"], e["tasks"]) for e in checked.evidence] == [
        ("ghost", False, ["T1", "T3"]),
        ("simulated", True, ["T2"]),
    ]
    assert checked.blockers == (
        "T4: unknown agent profile 'nobody' (profiles: claude, ghost, sim, simulated)",
        f"agent program not found: {MISSING} (profile ghost: T1, T3)",
    )
    text = "\n".join(checked.lines)
    assert f"{MISSING}: **not found** — install it, or set agents.ghost.executable" in text
    assert "`simulated` (simulated) for T2: built in" in text


def test_tasks_already_done_are_not_checked_and_ray_nodes_are_not_looked_up_here() -> None:
    cfg = config(ghost={"backend": "claude", "executable": MISSING})
    state = fold(
        ev.TaskStarted(task="A", attempt=1),
        ev.TaskFinished(task="A", status="done", attempt=1),
        state=planned(),
    )
    tasks = (Task(id="A", title="a", agent="ghost"),)
    assert check_programs(tasks, state, cfg, lambda n, p: AgentProgram(MISSING)).blockers == ()  # type: ignore[arg-type]
    ray = config_from_dict(
        {"agents": {"ghost": {"backend": "claude", "executable": MISSING}},
         "run": {"executor": "ray"}}
    )  # fmt: skip
    far = check_programs(tasks, RunState(), ray, lambda n, p: AgentProgram(MISSING))  # type: ignore[arg-type]
    assert far.blockers == () and "Ray" in far.lines[0]


def test_locate_looks_up_a_command_program_without_starting_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = tmp_path / "bin" / "my-agent"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    profile = AgentProfile(
        backend="command", command=["my-agent", "{prompt_file}"], env={"PATH": str(script.parent)}
    )
    assert locate(tmp_path, "mine", profile) == AgentProgram("my-agent", str(script))
    assert locate(tmp_path, "sim", AgentProfile(backend="simulated")).missing is False
    assert locate(tmp_path, "x", AgentProfile(backend="claude", executable=MISSING)).missing
    assert not marker.exists()


GHOST = f"""
[agents.ghost]
backend = "claude"
executable = "{MISSING}"
[agents.mine]
backend = "command"
command = ["MARKER_SCRIPT", "{{prompt_file}}"]
"""
PLAN = """\
# Plan: Greeting

## T1: Hello
depends: none
files: hello.txt
agent: ghost

## T2: World
depends: T1
files: world.txt
agent: mine
"""


def preflight_workspace(tmp_path: Path) -> tuple[Path, Path]:
    ws = workspace(tmp_path / "ws")
    marker = tmp_path / "ran"
    script = tmp_path / "my-agent"
    script.write_text(f"#!/bin/sh\ntouch {marker}\n")
    script.chmod(0o755)
    config_file = ws / ".orchestrator" / "config.toml"
    extra = GHOST.replace("MARKER_SCRIPT", str(script))
    config_file.write_text(config_file.read_text().replace("retries = 0", "retries = 3") + extra)
    (ws / "PLAN.md").write_text(PLAN)
    return ws, marker


def test_headless_approve_all_stops_at_the_parallel_gate_with_the_missing_program(
    tmp_path: Path,
) -> None:
    ws, marker = preflight_workspace(tmp_path)
    done = run(ws, "--approve", "all")
    assert done.returncode == 4, done.stdout + done.stderr
    assert (
        f"gate: Parallel needs approval: 2 tasks, 2 waves, critical path 2; 1 agent problem; "
        f"agent program not found: {MISSING} (profile ghost: T1)"
    ) in done.stderr
    events = read_events(RunFiles(ws, latest_run_id(ws) or "").events).events
    (parallel,) = [
        e for e in events if isinstance(e, ev.StageFinished) and e.stage == StageName.PARALLEL
    ]
    agents = {a["profile"]: (a["program"], a["found"]) for a in parallel.evidence["agents"]}
    assert agents == {"ghost": (MISSING, False), "mine": (str(tmp_path / "my-agent"), True)}
    assert "**Agent programs**" in parallel.details
    assert not any(isinstance(e, ev.TaskStarted) for e in events)  # implement never started
    assert not marker.exists()  # the command profile's program was looked up, not run


def test_the_programs_of_run_lines_are_looked_up_before_implement() -> None:
    """A shell profile runs each task's `run:` line: a bare program that is not on PATH, or
    a line that cannot be split, is found at the parallel gate, not by the task failing."""
    cfg = config_from_dict({"agents": {"default": "sh", "sh": {"backend": "shell"}}})
    tasks = (
        Task(id="T1", title="a", run="pytest -q"),
        Task(id="T2", title="b", run=f"{MISSING} --fast"),
        Task(id="T3", title="c", run=f"{MISSING} again"),
        Task(id="T4", title="d", run="./scripts/made-by-T1.sh"),  # a path: maybe made later
        Task(id="T5", title="e", run="echo 'unclosed"),
    )
    asked: list[str] = []

    def where(name: str, profile: AgentProfile) -> AgentProgram:
        asked.append(profile.executable)
        return AgentProgram(profile.executable, "" if MISSING in profile.executable else "/bin/x")

    checked = check_programs(tasks, RunState(), cfg, where)  # type: ignore[arg-type]
    assert asked == ["", "pytest", MISSING]  # the profile, then each program once
    assert checked.blockers == (
        "T5: cannot split its `run:` line: No closing quotation",
        f"program not found: {MISSING} (the `run:` line of T2, T3)",
    )
    assert f"`{MISSING}` for T2, T3: **not found**" in "\n".join(checked.lines)
    fine = (Task(id="T1", title="a", run="true"),)  # and the real lookup finds `true`
    real = check_programs(fine, RunState(), cfg, lambda n, p: locate(Path("."), n, p))
    assert real.blockers == ()


def test_the_later_stages_own_agents_are_looked_up_at_the_parallel_gate() -> None:
    """`[stages.review] agent = "ghost"` with ghost's program missing: found before an
    hour of implement work, not when the review stage starts; an unknown profile too."""
    cfg = config_from_dict(
        {
            "agents": {"default": "sim", "sim": {"backend": "simulated"},
                       "ghost": {"backend": "claude", "executable": MISSING}},
            "stages": {"review": {"agent": "ghost"}, "security": {"agent": "ghost"},
                       "cleanup": {"agent": "nobody"}},
        }
    )  # fmt: skip

    def where(name: str, profile: AgentProfile) -> AgentProgram:
        if profile.backend == "simulated":
            return AgentProgram("", note="built in")
        return AgentProgram(MISSING)

    tasks = (Task(id="T1", title="a"),)
    checked = check_programs(tasks, RunState(), cfg, where)  # type: ignore[arg-type]
    assert [(e["profile"], e["found"], e["tasks"]) for e in checked.evidence] == [
        ("sim", True, ["T1"]),
        ("ghost", False, ["the security stage", "the review stage"]),
    ]
    assert checked.blockers == (
        "the cleanup stage: unknown agent profile 'nobody' (profiles: claude, ghost, sim, "
        "simulated)",
        f"agent program not found: {MISSING} (profile ghost: the security stage, the review stage)",
    )
