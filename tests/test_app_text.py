"""What the app writes on screen, without an app: formats, the DAG layout, the gate's
evidence, cleaned agent lines and task diffs (with real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName, StageStatus, Task, TaskStatus
from orchestrator_tui.core.state import RunState, TaskState, apply, replay, update_stage
from orchestrator_tui.ui.diff import task_branch, task_diff
from orchestrator_tui.ui.evidence import evidence_markdown, gate_markdown, keep_line_breaks
from orchestrator_tui.ui.sanitize import line_kind, strip_escapes
from orchestrator_tui.ui.view import DagLayout, fmt_cost, fmt_duration, fmt_tokens, shorten


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.42, "0.4s"), (9.96, "10.0s"), (12.7, "12s"), (65, "1m05s"), (7380, "2h03m")],
)
def test_durations(seconds: float, text: str) -> None:
    assert fmt_duration(seconds) == text


def test_tokens_cost_and_shortening() -> None:
    assert fmt_tokens(1_900) == "1,900"
    assert fmt_tokens(250_000) == "250k"
    assert fmt_tokens(12_300_000) == "12.3M"
    assert fmt_cost(0) == "$0" and fmt_cost(0.012) == "$0.0120" and fmt_cost(12.5) == "$12.50"
    assert shorten("a\nb   c", 10) == "a b c"
    assert shorten("abcdefghij", 5) == "abcd…"


def test_layout_orders_by_wave_and_puts_unknown_tasks_last() -> None:
    tasks = [
        Task(id="D", title="d", depends=("B", "C")),
        Task(id="B", title="b", depends=("A",)),
        Task(id="A", title="a"),
        Task(id="C", title="c", depends=("A",), estimate=60),
    ]
    layout = DagLayout.from_tasks(tasks, extra_ids=["review-agent"])
    assert layout.order == ("A", "B", "C", "D", "review-agent")
    assert layout.wave_of == {"A": 0, "B": 1, "C": 1, "D": 2}
    assert layout.critical == {"A", "C", "D"}  # C's estimate makes it the longer branch
    cyclic = [Task(id="X", title="x", depends=("Y",)), Task(id="Y", title="y", depends=("X",))]
    assert DagLayout.from_tasks(cyclic).order == ("X", "Y")  # no crash, plan order


def test_security_evidence_lists_findings_by_severity() -> None:
    findings = [
        {
            "tool": "bandit",
            "rule": "B602",
            "severity": "high",
            "file": "src/run.py",
            "line": 12,
            "message": "subprocess call with shell=True",
        },
        {
            "tool": "detect-secrets",
            "severity": "medium",
            "file": ".env",
            "line": 1,
            "message": "Secret Keyword",
        },
        {"tool": "bandit", "severity": "low", "file": "a.py", "line": 3, "message": "assert"},
    ]
    text = evidence_markdown(StageName.SECURITY, {"findings": findings})
    assert "**3** in all" in text
    assert "| high | 1 |" in text and "| medium | 1 |" in text and "| low | 1 |" in text
    assert text.index("HIGH") < text.index("MEDIUM") < text.index("LOW")
    assert "src/run.py:12" in text and "shell=True" in text
    counted = evidence_markdown(StageName.SECURITY, {"by_severity": {"HIGH": 2, "low": 5}})
    assert "| high | 2 |" in counted and "**7** in all" in counted


def test_test_evidence_shows_counts_and_failures() -> None:
    text = evidence_markdown(
        StageName.TEST,
        {
            "passed": 41,
            "failed": 2,
            "skipped": 1,
            "failures": [
                {"name": "tests/test_api.py::test_create", "message": "KeyError: 'email'"}
            ],
        },
    )
    assert "41 passed · 2 failed · 1 skipped" in text
    assert "test_create" in text and "KeyError" in text


def test_review_verdict_and_unknown_keys_still_show() -> None:
    text = evidence_markdown(StageName.REVIEW, {"verdict": "changes requested", "scope": ["x"]})
    assert "**changes requested**" in text
    assert '- **scope**: \\["x"\\]' in text


def test_gate_markdown_has_summary_cost_and_escapes_plain_text() -> None:
    state = replay(
        [
            ev.RunStarted(run_id="r", workspace="/w", seq=1),
            ev.StageStarted(stage=StageName.PARALLEL, seq=2),
            ev.PlanFrozen(
                tasks=(Task(id="A", title="a"),), waves=[["A"]], critical_path=["A"], seq=3
            ),
            ev.TaskUsage(task="A", input_tokens=1000, output_tokens=200, cost_usd=0.5, seq=4),
            ev.StageFinished(
                stage=StageName.PARALLEL,
                status="done",
                summary="1 task *bold* <b>",
                evidence={"tasks": 1, "waves": [["A"]], "critical_path": ["A"]},
                seq=5,
            ),
            ev.GateOpened(stage=StageName.PARALLEL, summary="1 task *bold* <b>", seq=6),
        ]
    )
    text = gate_markdown(state, StageName.PARALLEL)
    assert "\\*bold\\*" in text and "\\<b\\>" in text
    assert "$0.5000" in text and "1,200 tokens" in text
    assert "wave 1: A" in text and "Critical path: A" in text


def test_lines_are_made_inert_and_sorted_by_kind() -> None:
    assert strip_escapes("\x1b[1;31mred\x1b[0m \x1b]0;t\x07x\ty\x00") == "red x   y"
    assert strip_escapes("a" * 3000).endswith("…") and len(strip_escapes("a" * 3000)) == 2000
    assert line_kind("Traceback (most recent call last):") == "error"
    assert line_kind("FAILED tests/test_a.py::test_b") == "error"
    assert line_kind("── ✗ failed: exit 1") == "error"
    assert line_kind("▸ Edit src/app.py") == "tool"
    assert line_kind("▸ Bash: pytest -q") == "tool"
    assert line_kind("  ✗ permission denied: Bash (rm -rf build)") == "error"
    assert line_kind("$ pytest -q") == "tool"
    assert line_kind("just text about errors-free code") == ""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "HOME": str(cwd),
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()


def test_diff_of_a_task_branch_then_of_its_merge_commit(tmp_path: Path) -> None:
    """The layout of core/workspace.py: task branch orch/tasks/R/T off the run branch
    orch/R, merged back with --no-ff (TaskMerged.commit is the merge)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "app.py").write_text("print('hi')\n")
    git(repo, "add", "app.py")
    git(repo, "commit", "-qm", "base")
    git(repo, "branch", "orch/run1")
    branch = task_branch("run1", "T1")
    assert branch == "orch/tasks/run1/T1"
    git(repo, "checkout", "-qb", branch, "orch/run1")
    (repo / "app.py").write_text("print('hello')\n")
    git(repo, "commit", "-qam", "T1: greet")
    task = TaskState(id="T1", status=TaskStatus.RUNNING)
    diff = task_diff(repo, "run1", task)
    assert "+print('hello')" in diff and "-print('hi')" in diff
    git(repo, "checkout", "-q", "orch/run1")
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge T1: greet", branch)
    git(repo, "branch", "-qD", branch)  # a clean merge removes the task branch
    merged = task.model_copy(
        update={"status": TaskStatus.DONE, "commit": git(repo, "rev-parse", "HEAD")}
    )
    diff = task_diff(repo, "run1", merged)
    assert diff.startswith("merged as ") and "+print('hello')" in diff


def test_no_diff_is_said_plainly(tmp_path: Path) -> None:
    assert task_diff(tmp_path, "run1", TaskState(id="T1")).startswith(
        "no diff available: the workspace is not a git repository"
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    assert task_diff(repo, "run1", TaskState(id="T1")) == (
        "no diff available: the task has not run yet"
    )
    failed = TaskState(id="T1", status=TaskStatus.FAILED)
    assert "branch orch/tasks/run1/T1" in task_diff(repo, "run1", failed)


def test_state_is_the_core_fold() -> None:
    """The app keeps no state model of its own: what it folds is core.state.RunState."""
    from orchestrator_tui.ui import orchestrator_app

    assert orchestrator_app.RunState is RunState


def test_details_keep_their_lines_but_not_inside_blocks() -> None:
    text = "Critical path: A → B\nRuns first: A\n\n- wave 1\n- wave 2\n```\nx = 1\ny = 2\n```"
    assert keep_line_breaks(text) == (
        "Critical path: A → B  \nRuns first: A\n\n- wave 1\n- wave 2\n```\nx = 1\ny = 2\n```"
    )


def test_security_evidence_shows_no_test_counts() -> None:
    """Trial: the security gate showed "Tests · 2 total" — its `total` findings and its
    `skipped` scanners were read as test counts."""
    evidence = {"findings": [], "total": 2, "skipped": [], "counts": {"high": 1}}
    text = evidence_markdown(StageName.SECURITY, evidence, compact=True)
    assert "### Tests" not in text and "2 total" not in text
    mixed = evidence_markdown(StageName.REVIEW, {"passed": 3, "failed": 1})
    assert "### Tests" in mixed and "3 passed · 1 failed" in mixed


def test_a_failed_test_gate_that_can_send_back_says_so_first() -> None:
    """Trial: the failed test gate opened with "retry it (R), skip it (s), or fix and
    retry", above the stage's own advice to reject and send the failures back."""
    state = update_stage(RunState(run_id="r"), StageName.TEST, status=StageStatus.FAILED)
    gate = ev.GateOpened(stage=StageName.TEST, failed=True, reject_hint="Send back: the tasks…")
    state = apply(state, gate)
    text = gate_markdown(state, StageName.TEST)
    assert "reject (`r`) sends the failures back" in text and "retry it (`R`)" not in text
    plain = apply(state, ev.GateOpened(stage=StageName.SECURITY, failed=True, reject_hint="No"))
    assert "retry it (`R`)" in gate_markdown(plain, StageName.SECURITY)
