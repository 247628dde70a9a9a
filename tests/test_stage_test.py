"""The test stage: run the suite where the merged work is, read JUnit, report failures."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from stage_support import RUN_ID, FakeAgent, context, done_task, git, git_repo, make_config

from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.engine.pipeline import Cancelled
from orchestrator_tui.stages.detect import detect_test_command
from orchestrator_tui.stages.results import ResultsError, parse_cargo, parse_go_json
from orchestrator_tui.stages.testing import TestRunner

FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # our venv's plugins only slow these down
PROJECT = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
    "tests/test_calc.py": (
        "import pytest\nfrom calc import add\n\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_wrong():\n    assert add(2, 2) == 5, 'two and two'\n\n\n"
        "@pytest.mark.skip(reason='later')\ndef test_later():\n    pass\n"
    ),
    "tests/test_more.py": "def test_more():\n    assert True\n",
}


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST.items():
        monkeypatch.setenv(name, value)


def test_failures_are_listed_with_their_message_and_the_tasks_that_touched_them(
    tmp_path: Path,
) -> None:
    workspace = git_repo(tmp_path / "ws", PROJECT)
    tasks = [done_task("T1", ["calc.py", "tests/test_calc.py"]), done_task("T2", ["README.md"])]
    ctx, _ = context(workspace, StageName.TEST, tasks=tasks)
    result = TestRunner().run(ctx)
    assert not result.ok
    assert result.summary == "2 passed, 1 failed, 1 skipped"
    evidence = result.evidence
    assert (evidence["passed"], evidence["failed"], evidence["skipped"]) == (2, 1, 1)
    assert evidence["framework"] == "pytest" and evidence["exit_code"] == 1
    failure = evidence["failures"][0]
    assert failure["name"] == "tests.test_calc::test_wrong"
    assert "two and two" in failure["message"]
    assert failure["file"] == "tests/test_calc.py"
    assert evidence["send_back"]["tasks"] == ["T1"]
    assert "T1: the test stage failed" in evidence["send_back"]["feedback"]
    assert "T1 (tests/test_calc.py)" in result.details
    assert "**retry**" in result.details
    assert (ctx.run_dir / "junit.xml").is_file()
    assert not (workspace / ".pytest_cache").exists()


def test_a_green_suite_passes(tmp_path: Path) -> None:
    passing = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    green = {**PROJECT, "tests/test_calc.py": passing}
    workspace = git_repo(tmp_path / "ws", green)
    ctx, _ = context(workspace, StageName.TEST)
    result = TestRunner().run(ctx)
    assert result.ok, result.details
    assert result.summary == "2 passed"
    assert result.evidence["total"] == 2


def test_the_gate_says_why_tests_were_skipped(tmp_path: Path) -> None:
    """A suite that skips (a file the checkout lacks, a missing module) passes, but the
    person at the gate sees how many were skipped for what, not only a count."""
    skipping = (
        "import pytest\n\n\n"
        "@pytest.mark.parametrize('n', range(3))\n"
        "def test_locale(n):\n    pytest.skip('no compiled .mo files')\n\n\n"
        "def test_numpy():\n    pytest.importorskip('no_such_module_here')\n\n\n"
        "def test_ok():\n    assert True\n"
    )
    workspace = git_repo(tmp_path / "ws", {**PROJECT, "tests/test_calc.py": skipping})
    ctx, _ = context(workspace, StageName.TEST)
    result = TestRunner().run(ctx)
    assert result.ok, result.details
    assert result.summary == "2 passed, 4 skipped"
    reasons = result.evidence["skip_reasons"]
    assert reasons[0] == {"reason": "no compiled .mo files", "count": 3}
    assert reasons[1]["count"] == 1 and "no_such_module_here" in reasons[1]["reason"]
    assert "- 3 × no compiled .mo files" in result.details


def test_the_suite_runs_in_the_run_branch_checkout(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", PROJECT)
    git(workspace, "branch", f"orch/{RUN_ID}")
    run_checkout = workspace / ".orchestrator" / "worktrees" / "_run"
    git(workspace, "worktree", "add", "--quiet", str(run_checkout), f"orch/{RUN_ID}")
    (run_checkout / "tests" / "test_calc.py").write_text("def test_only_here():\n    pass\n")
    git(run_checkout, "commit", "--quiet", "-am", "merged work")
    ctx, _ = context(workspace, StageName.TEST)
    result = TestRunner().run(ctx)
    assert result.ok, result.details
    assert result.summary == "2 passed"  # the workspace's own copy would fail one
    assert result.evidence["cwd"] == str(run_checkout.resolve())


def test_a_hanging_suite_is_stopped_with_a_clear_message(tmp_path: Path) -> None:
    config = make_config(stages={"test": {"command": ["sleep", "30"], "timeout": 0.5}})
    ctx, _ = context(tmp_path, StageName.TEST, config=config)
    result = TestRunner().run(ctx)
    assert not result.ok
    assert "the tests hung: stopped after 0.5 s" in result.summary
    assert result.evidence["seconds"] < 10


def test_a_missing_test_command_fails_clearly(tmp_path: Path) -> None:
    config = make_config(stages={"test": {"command": ["no-such-runner-xyz", "--all"]}})
    ctx, _ = context(tmp_path, StageName.TEST, config=config)
    result = TestRunner().run(ctx)
    assert not result.ok
    assert "no-such-runner-xyz not found" in result.summary
    # no failure to send back: the gate does not offer to send one (found on a real trial)
    assert "reject** to send the failures back" not in result.details
    assert "the suite did not run through, so no failure can be sent back" in result.details


def test_the_gate_offers_no_send_back_when_every_task_is_a_shell_line(tmp_path: Path) -> None:
    """A shell task runs its `run:` line again whatever it is told, so a reject cannot
    send the failures back (engine/fix_loop.py refuses it): the gate says so."""
    from orchestrator_tui.core.models import Plan, Task

    workspace = git_repo(tmp_path / "ws", PROJECT)
    tasks = [done_task("T1", ["calc.py", "tests/test_calc.py"])]
    plan = Plan(title="p", tasks=(Task(id="T1", title="calc", run="true"),))
    shell = make_config(agents={"default": "sh", "sh": {"backend": "shell"}})
    ctx, _ = context(workspace, StageName.TEST, tasks=tasks, plan=plan, config=shell)
    result = TestRunner().run(ctx)
    assert result.summary == "2 passed, 1 failed, 1 skipped"
    assert "no send-back: every task is a shell `run:` line" in result.details
    assert "reject** to send the failures back" not in result.details
    agents = make_config(agents={"default": "ai", "ai": {"backend": "claude"}})
    ctx, _ = context(workspace, StageName.TEST, tasks=tasks, plan=plan, config=agents)
    assert "reject** to send the failures back" in TestRunner().run(ctx).details


def test_garbage_junit_from_a_failing_command_is_reported(tmp_path: Path) -> None:
    script = "import sys; open(sys.argv[1], 'w').write('<<not xml'); sys.exit(1)"
    config = make_config(stages={"test": {"command": [sys.executable, "-c", script, "{junit}"]}})
    ctx, _ = context(tmp_path, StageName.TEST, config=config)
    result = TestRunner().run(ctx)
    assert not result.ok
    assert "exited 1" in result.summary and "unreadable" in result.summary


def test_a_command_without_counts_passes_on_exit_zero(tmp_path: Path) -> None:
    config = make_config(stages={"test": {"command": ["true"]}})
    ctx, _ = context(tmp_path, StageName.TEST, config=config)
    result = TestRunner().run(ctx)
    assert result.ok
    assert result.summary == "tests passed (exit 0; configured gives no counts)"


def test_no_test_framework_is_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    ctx, _ = context(tmp_path, StageName.TEST)
    result = TestRunner().run(ctx)
    assert result.ok
    assert result.summary.startswith("no tests: no test framework found")
    assert result.evidence == {"ran": False, "reason": "no test framework found"}


def test_pytest_collecting_nothing_is_reported_as_such(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", {"conftest.py": "", "lib.py": "x = 1\n"})
    ctx, _ = context(workspace, StageName.TEST)
    result = TestRunner().run(ctx)
    assert result.ok
    assert result.summary == "no tests were collected"


def test_the_test_agent_fixes_the_failures_and_the_suite_runs_again(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", PROJECT)
    fixed = PROJECT["tests/test_calc.py"].replace("== 5, 'two and two'", "== 4")
    agent = FakeAgent([AgentResult(ok=True, final_text="fixed")], [{"tests/test_calc.py": fixed}])
    agent.root = workspace
    config = make_config(stages={"test": {"agent": "fixer"}})
    ctx, _ = context(workspace, StageName.TEST, config=config, run_agent=agent)
    result = TestRunner().run(ctx)
    assert result.ok, result.details
    assert result.summary == "3 passed, 1 skipped"
    assert "test_wrong" in agent.prompts[0] and "two and two" in agent.prompts[0]
    assert "fixer worked on the failures; the suite ran again." in result.details


def test_go_json_and_cargo_output_are_counted() -> None:
    go = "\n".join(
        [
            '{"Action":"run","Package":"m","Test":"TestA"}',
            '{"Action":"pass","Package":"m","Test":"TestA"}',
            '{"Action":"output","Package":"m","Test":"TestB","Output":"want 2 got 3\\n"}',
            '{"Action":"fail","Package":"m","Test":"TestB"}',
            '{"Action":"skip","Package":"m","Test":"TestC"}',
            "not json at all",
            '{"Action":"fail","Package":"m"}',
        ]
    )
    results = parse_go_json(go)
    assert (results.passed, results.failed, results.skipped) == (1, 1, 1)
    assert results.failures[0].name == "m::TestB" and "want 2 got 3" in results.failures[0].message
    cargo = (
        "test tests::a ... ok\ntest tests::b ... FAILED\n"
        "test result: FAILED. 1 passed; 1 failed; 2 ignored; 0 measured\n"
        "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured\n"
    )
    results = parse_cargo(cargo)
    assert (results.passed, results.failed, results.skipped) == (4, 1, 2)
    assert results.failures[0].name == "tests::b"
    with pytest.raises(ResultsError):
        parse_go_json("garbage")
    with pytest.raises(ResultsError):
        parse_cargo("error: could not compile")


def test_the_workspaces_virtualenv_runs_the_suite_in_a_fresh_checkout(tmp_path: Path) -> None:
    checkout, workspace = tmp_path / "checkout", tmp_path / "ws"
    (checkout / "tests").mkdir(parents=True)
    (checkout / "tests" / "test_a.py").write_text("def test_a():\n    pass\n")
    python = workspace / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    command = detect_test_command(checkout, workspace)
    assert command is not None and command.argv[0] == str(python)
    assert detect_test_command(checkout).argv[0] == sys.executable  # type: ignore[union-attr]


def test_a_stopping_engine_kills_the_suite_and_the_stage_runs_again_later(tmp_path: Path) -> None:
    cancel = threading.Event()
    config = make_config(stages={"test": {"command": ["sleep", "30"]}})
    ctx, _ = context(tmp_path, StageName.TEST, config=config, cancel=cancel)
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        TestRunner().run(ctx)
    assert time.monotonic() - started < 10


def test_a_command_may_be_written_as_one_line(tmp_path: Path) -> None:
    """Found on a real trial: `command = ".venv/bin/python -m pytest"` in config.toml was
    refused ("Input should be a valid list"). A line is split as a shell would, never run
    by one; a line that cannot be split is a clear error."""
    from orchestrator_tui.core.config import ConfigError, load_config

    folder = tmp_path / ".orchestrator"
    folder.mkdir()
    (folder / "config.toml").write_text(
        "[stages.test]\ncommand = \"python3 -m pytest -q 'a b' ;\"\n"
        '[notify]\ncommand = "notify-send orch"\n'
    )
    config = load_config(tmp_path)
    assert config.stage(StageName.TEST).command == ["python3", "-m", "pytest", "-q", "a b", ";"]
    assert config.notify.command == ["notify-send", "orch"]
    (folder / "config.toml").write_text('[stages.test]\ncommand = "pytest \\"unclosed"\n')
    with pytest.raises(ConfigError, match=r"stages\.test\.command: .*cannot split"):
        load_config(tmp_path)
