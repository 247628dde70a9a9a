"""Issue 13, observation 3: a test failure goes back to the task that owns it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from app_support import options_for, run_async, wait_until
from engine_support import Background, Recorder, engine_for
from stage_support import git, git_repo

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import Config, config_from_dict
from orchestrator_tui.core.fix_map import (
    Failure,
    Owner,
    approved_results,
    map_failures,
    traceback_files,
    unchanged_since_approval,
)
from orchestrator_tui.core.models import StageName, StageStatus, TaskStatus
from orchestrator_tui.core.state import RunState, apply, update_stage
from orchestrator_tui.ui.app import create_app
from orchestrator_tui.ui.diff import task_diff

AGENT = r"""
import re, sys
from pathlib import Path
prompt = Path(sys.argv[1]).read_text()
task = re.search(r"^ID: (\S+)", prompt, re.M).group(1)
if task == "T1":
    fixed = "Sent back from the test stage" in prompt
    body = "a * b" if fixed else "a + b"
    Path("calc.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return " + body + "\n"
    )
    Path("tests/test_mul.py").write_text(
        "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
    )
elif task == "T2":
    Path("NOTES.md").write_text("multiplication is coming\n")
print("done with", task)
"""
PLAN = """# Plan: Multiply

## T1: Multiply
depends: none
files: calc.py, tests/test_mul.py

## T2: Notes
depends: none
files: NOTES.md
"""
PROJECT = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
    "PLAN.md": PLAN,
}


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_send_back_reruns_the_owning_task_and_the_run_ends_green(tmp_path: Path) -> None:
    """Rejecting at the test gate reran the test agent, never the task, and the gate said
    sending back was not supported."""
    workspace = git_repo(tmp_path / "ws", PROJECT)
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    config = config_from_dict(
        {
            "agents": {
                "default": "fake",
                "fake": {
                    "backend": "command",
                    "command": [sys.executable, str(agent), "{prompt_file}"],
                },
            },
            "run": {"retry_backoff": 0.05},
        }
    )
    recorder = Recorder()
    engine = engine_for(workspace, config, recorder)
    with Background(engine) as run:
        assert run.result(timeout=240) == "complete"
    state = engine.state
    rounds = recorder.of(ev.FixRoundStarted)
    assert [(r.stage, r.round, r.tasks, r.fix_task) for r in rounds] == [
        (StageName.TEST, 1, ("T1",), None)
    ]
    assert "test_mul" in rounds[0].feedback["T1"]
    assert state.tasks["T1"].attempt == 2 and state.tasks["T2"].attempt == 1
    assert len(state.tasks["T1"].commits) == 2  # both merges kept: the whole task's history
    first, second = state.tasks["T1"].attempts  # what the detail screen's Attempts tab shows
    assert second.why == "sent back from test (round 1)" and "test_mul" in second.feedback
    assert (first.commit, second.commit) == state.tasks["T1"].commits and not first.feedback
    assert state.fix_round == 1
    # observation 6: the task's files, diff and review cover both attempts, not the last one
    assert set(state.tasks["T1"].changed_files) == {"calc.py", "tests/test_mul.py"}
    diff = task_diff(workspace, state.run_id, state.tasks["T1"])
    assert "merge 1 of 2" in diff and "merge 2 of 2" in diff
    assert "+def mul(a, b):" in diff and "+    return a * b" in diff
    review = (engine.files.dir / "review.md").read_text()
    assert "| T1 | done | 2 | `calc.py`, `tests/test_mul.py` |" in review
    assert state.stages[StageName.IMPLEMENT].fix_round == 1
    assert state.stages[StageName.IMPLEMENT].summary == "2 tasks done; fix round 1: T1 ran again"
    tests = state.stages[StageName.TEST].evidence
    assert tests["failed"] == 0 and tests["passed"] == 2
    assert tests["commit"] == git(workspace, "rev-parse", f"orch/{state.run_id}").strip() or (
        tests["commit"] in git(workspace, "log", "--format=%H", f"orch/{state.run_id}")
    )
    fresh = tmp_path / "fresh"
    git(workspace, "worktree", "add", "--quiet", "--detach", str(fresh), f"orch/{state.run_id}")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=fresh,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout  # a fresh checkout of the run branch is green
    assert "2 passed" in done.stdout


def test_failures_map_to_the_task_that_changed_the_test_or_its_traceback_files() -> None:
    owners = {
        "T1": Owner(changed=("src/app/core.py",), declared=("src/app/core.py",)),
        "T2": Owner(changed=("tests/test_api.py",), declared=("tests/*.py",)),
        "T3": Owner(changed=(), declared=("docs/**",)),
    }
    trace = (
        'File "/w/.orchestrator/worktrees/_run/src/app/core.py", line 3, in f\n'
        '  File "/usr/lib/python3.11/json/__init__.py", line 2\n'
        "tests/test_other.py:12: AssertionError"
    )
    assert traceback_files(trace, ["/w/.orchestrator/worktrees/_run"]) == [
        "src/app/core.py",
        "tests/test_other.py",
    ]
    mapping = map_failures(
        [
            Failure("a", "tests/test_api.py", "boom"),
            Failure("b", "tests/test_other.py", trace),
            Failure("c", "tests/test_new.py", "no owner changed it"),
            Failure("d", "", "nothing to go on"),
        ],
        owners,
        ["/w/.orchestrator/worktrees/_run"],
    )
    assert {t: [f.name for f in fs] for t, fs in mapping.owned.items()} == {
        "T2": ["a", "c"],
        "T1": ["b"],
    }
    assert [f.name for f in mapping.unmapped] == ["d"]


SECURITY_AGENT = AGENT.replace(
    '    Path("tests/test_mul.py")',
    '    Path("shell.py").write_text(\n'
    '        "import subprocess\\n\\n\\ndef run(cmd):\\n"\n'
    '        "    return subprocess.call(cmd, shell=True)\\n"\n'
    "    )\n"
    '    Path("tests/test_mul.py")',
).replace("files: calc.py, tests/test_mul.py", "files: calc.py, shell.py, tests/test_mul.py")


def test_a_fix_round_does_not_ask_again_at_a_security_gate_with_nothing_new(
    tmp_path: Path,
) -> None:
    """The user approved security's finding once; the fix round found the same finding and
    the security gate waited for a second approval of what nothing had changed."""
    project = {**PROJECT, "PLAN.md": PLAN.replace("calc.py, tests", "calc.py, shell.py, tests")}
    workspace = git_repo(tmp_path / "ws", project)
    agent = tmp_path / "agent.py"
    agent.write_text(SECURITY_AGENT)
    config = config_from_dict(
        {
            "agents": {
                "default": "fake",
                "fake": {
                    "backend": "command",
                    "command": [sys.executable, str(agent), "{prompt_file}"],
                },
            },
            "run": {"retry_backoff": 0.05},
        }
    )
    recorder = Recorder()
    approve = frozenset(s for s in StageName if s != StageName.SECURITY)
    engine = engine_for(workspace, config, recorder, approve=approve)
    opened = lambda: [g for g in recorder.of(ev.GateOpened) if g.stage == StageName.SECURITY]  # noqa: E731
    with Background(engine) as run:
        recorder.wait_for(
            lambda e: isinstance(e, ev.GateOpened) and e.stage == StageName.SECURITY, 120
        )
        engine.submit("approve")
        recorder.wait_for(lambda e: isinstance(e, ev.FixRoundStarted), 120)
        deadline = time.monotonic() + 180
        while run.thread.is_alive() and len(opened()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        asked = len(opened())
        if asked > 1:
            engine.submit("approve")  # let the run end either way
        assert run.result(timeout=180) == "complete"
    assert asked == 1, "the security gate asked again in the fix round"
    security = engine.state.stages[StageName.SECURITY]
    assert security.fix_round == 1 and security.evidence["total"] == 2  # B404, B602
    decided = [d for d in recorder.of(ev.GateDecided) if d.stage == StageName.SECURITY]
    assert [d.by for d in decided] == ["app", "engine"]
    assert "nothing new" in decided[1].feedback


def test_a_fix_round_gate_asks_again_when_its_stage_found_something_new() -> None:
    old = {"tool": "bandit", "rule": "B602", "file": "shell.py", "line": 5, "message": "shell"}
    moved = {**old, "line": 9}  # the fix moved it: the same finding
    other = {**old, "rule": "B307", "message": "eval"}
    sec, test = StageName.SECURITY, StageName.TEST
    state = update_stage(RunState(), sec, status=StageStatus.APPROVED, evidence={"findings": [old]})
    state = update_stage(state, test, status=StageStatus.REJECTED, evidence={"failures": []})
    seen = approved_results(state, test)
    assert list(seen) == ["security"]  # the sender itself and stages without results: not kept
    round_one = ev.FixRoundStarted(stage=test, round=1, seen=seen)
    state = apply(state, round_one)
    assert state.stages[sec].approved_seen == seen["security"]
    for findings, passes in (([moved], True), ([], True), ([moved, other], False)):
        done = update_stage(state, sec, status=StageStatus.DONE, evidence={"findings": findings})
        assert bool(unchanged_since_approval(done, sec)) is passes, findings
    failed = update_stage(state, sec, status=StageStatus.FAILED, evidence={"findings": []})
    assert unchanged_since_approval(failed, sec) == ""  # a scan that broke asks
    assert unchanged_since_approval(apply(RunState(), round_one), sec) == ""  # never approved


def command_config(agent: Path, *args: str, **sections: dict) -> Config:
    command = [sys.executable, str(agent), "{prompt_file}", *args]
    data: dict = {
        "agents": {"default": "fake", "fake": {"backend": "command", "command": command}},
        "run": {"retry_backoff": 0.05},
        "notify": {"bell": False},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return config_from_dict(data)


def test_reject_with_text_at_the_test_gate_sends_back_with_the_users_text(
    tmp_path: Path,
) -> None:
    """What to build 3: reject-with-feedback at test means send-back, with the user's text
    added to the failures in the owning task's prompt."""
    workspace = git_repo(tmp_path / "ws", PROJECT)
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT + "\nPath(sys.argv[2]).open('a').write(prompt + '\\n=====\\n')\n")
    prompts = tmp_path / "prompts.txt"
    config = command_config(agent, str(prompts))
    recorder = Recorder()
    approve = frozenset(s for s in StageName if s != StageName.TEST)
    engine = engine_for(workspace, config, recorder, approve=approve)
    with Background(engine) as run:
        gate = recorder.wait_for(
            lambda e: isinstance(e, ev.GateOpened) and e.stage == StageName.TEST, 120
        )
        assert gate.failed and "Send back" in gate.reject_hint
        engine.submit("reject", feedback="keep mul free of imports, please")
        recorder.wait_for(
            lambda e: isinstance(e, ev.GateOpened) and e.stage == StageName.TEST and not e.failed,
            180,
        )
        engine.submit("approve")
        assert run.result(timeout=120) == "complete"
    (round_one,) = recorder.of(ev.FixRoundStarted)
    assert round_one.tasks == ("T1",) and round_one.fix_task is None
    text = round_one.feedback["T1"]
    assert "test_mul" in text and "keep mul free of imports, please" in text
    second = prompts.read_text().split("=====")[2]  # T1, T2, then T1 again
    assert "ID: T1" in second and "keep mul free of imports, please" in second
    assert "assert 5 == 6" in second or "test_mul" in second  # the failure output


ORPHAN_AGENT = r"""
import json, re, sys
from pathlib import Path
prompt = Path(sys.argv[1]).read_text()
task = re.search(r"^ID: (\S+)", prompt, re.M).group(1)
if task == "T1":
    Path("settings.json").write_text(json.dumps({"mode": "slow"}))
elif task.startswith("fix-"):
    assert "test_mode_is_fast" in prompt, prompt
    Path("settings.json").write_text(json.dumps({"mode": "fast"}))
print("done with", task)
"""
ORPHAN_PROJECT = {
    "settings.json": '{"mode": "fast"}',
    "tests/test_settings.py": (
        "import json\n\n\ndef test_mode_is_fast():\n"
        "    assert json.load(open('settings.json'))['mode'] == 'fast'\n"
    ),
    "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
    "PLAN.md": "# Plan: Tune\n\n## T1: Tune the settings\ndepends: none\nfiles: config/*\n",
}


@pytest.mark.timeout(300)
@run_async
async def test_a_failure_no_task_owns_becomes_a_fix_task_shown_in_the_plan_pane(
    tmp_path: Path,
) -> None:
    """What to build 3: what cannot be mapped becomes a fix task of its own, visible in the
    plan pane as such; the board shows the round (Implement ↺1, Test ↺1)."""
    workspace = git_repo(tmp_path / "ws", ORPHAN_PROJECT)
    agent = tmp_path / "agent.py"
    agent.write_text(ORPHAN_AGENT)
    options = options_for(workspace, config=command_config(agent), approve=frozenset(StageName))
    app = create_app(options, animations=False)
    app.handle.open()
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(
            pilot, lambda: app.state.outcome != "" or app.state.gate is not None, timeout=240
        )
        await pilot.pause()
        assert app.state.gate is None, (app.state.gate, app.state.notices[-5:])
        assert app.state.outcome == "complete", app.state.outcome_reason
        assert "fix-1" in app.run_screen.graph.graph.place
        app.run_screen.action_toggle_dag()  # the wave table
        await pilot.pause()  # laid out at its width before its cells are read
        assert "fix-1" in app.run_screen.tasks.order
        cells = app.run_screen.tasks.cells_of("fix-1")
        assert cells["title"].startswith("Fix what the test stage") and "done" in cells["status"]
        board = "\n".join(app.run_screen.board.render().plain.splitlines())
        assert board.count("↺1") >= 3, board  # implement, security, test ran in round 1
    state = app.state
    assert state.tasks["T1"].attempt == 1  # it owned nothing: not rerun
    assert state.tasks["fix-1"].status == TaskStatus.DONE
    assert state.stages[StageName.TEST].evidence["passed"] == 1


def test_no_send_back_to_tasks_that_only_run_shell_lines() -> None:
    """A shell task runs its `run:` line again whatever it is told, and a fix task has no
    line at all: such a round would only fail; one agent that reads feedback is enough."""
    from types import SimpleNamespace

    from orchestrator_tui.core.config import config_from_dict
    from orchestrator_tui.core.events import FixRoundStarted
    from orchestrator_tui.core.models import Plan, StageName, Task
    from orchestrator_tui.engine.fix_loop import reads_feedback

    config = config_from_dict(
        {"agents": {"default": "sh", "sh": {"backend": "shell"}, "ai": {"backend": "claude"}}}
    )
    plan = Plan(
        title="p",
        tasks=(Task(id="T1", title="a", run="true"), Task(id="T2", title="b", agent="ai")),
    )
    engine = SimpleNamespace(plan=plan, config=config)
    fix = Task(id="fix-1", title="fix")
    shell_only = FixRoundStarted(stage=StageName.TEST, round=1, tasks=("T1",), fix_task=fix)
    assert not reads_feedback(engine, shell_only)  # type: ignore[arg-type]
    with_agent = FixRoundStarted(stage=StageName.TEST, round=1, tasks=("T1", "T2"))
    assert reads_feedback(engine, with_agent)  # type: ignore[arg-type]
