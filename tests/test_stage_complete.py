"""The complete stage: final validation and summary.md from every stage's evidence."""

from __future__ import annotations

from pathlib import Path

from stage_support import RUN_ID, context, done_task, git, git_repo

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import Plan, StageName, StageStatus, TaskStatus
from orchestrator_tui.infra.store import RunFiles
from orchestrator_tui.stages.complete import CompleteRunner

GREEN_TESTS = {
    "ran": True,
    "command": "python -m pytest",
    "passed": 23,
    "failed": 0,
    "errors": 0,
    "skipped": 1,
    "seconds": 1.5,
    "failures": [],
}
FINDING = {
    "tool": "bandit",
    "rule": "B108",
    "severity": "medium",
    "file": "textkit/cache.py",
    "line": 10,
    "message": "Probable insecure usage of temp file/directory.",
}
SECURITY = {
    "findings": [FINDING],
    "counts": {"high": 0, "medium": 1, "low": 0},
    "scanners": ["bandit", "detect-secrets"],
    "skipped": [],
}
TASKS = [
    done_task("T1", ["a.py", "tests/test_a.py"], input_tokens=1000, output_tokens=200,
              cost_usd=0.02, started_at=10.0, finished_at=12.0),
    done_task("T2", ["b.py"], attempt=2, input_tokens=3000, output_tokens=500, cost_usd=0.05),
    # a stage's own agent appears in the state through its usage; it is not a plan task
    done_task("review-agent", status=TaskStatus.PENDING, merged=False, input_tokens=100,
              cost_usd=0.01, attempt=0),
]  # fmt: skip


def record_retry(workspace: Path) -> None:
    """The event log of a run where T2 failed once and its retry succeeded."""
    events = [
        ev.TaskFinished(seq=1, task="T1", status="done", attempt=1, duration=2.0),
        ev.TaskFinished(
            seq=2,
            task="T2",
            status="failed",
            attempt=1,
            duration=1.0,
            will_retry=True,
            reason="exit 1; retrying in 0.5 s",
        ),
        ev.TaskFinished(seq=3, task="T2", status="done", attempt=2, duration=3.0),
    ]
    log = RunFiles(workspace, RUN_ID).events
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("".join(ev.dump_event(event) + "\n" for event in events))


def evidence(**overrides: dict) -> dict[StageName, dict]:
    values = {
        StageName.SECURITY: SECURITY,
        StageName.TEST: GREEN_TESTS,
        StageName.REVIEW: {"verdict": "approve", "scope_creep": {}},
        StageName.CLEANUP: {"changed": ["b.py"], "remaining": 0, "dead_code": []},
    }
    values.update({StageName(k): v for k, v in overrides.items()})
    return values


def test_a_good_run_is_ready_and_summarized(tmp_path: Path) -> None:
    record_retry(tmp_path)
    ctx, _ = context(
        tmp_path,
        StageName.COMPLETE,
        tasks=TASKS,
        evidence=evidence(),
        goal="Ship textkit",
        plan=Plan(title="textkit 0.2", goal="Text statistics."),
    )
    result = CompleteRunner().run(ctx)
    assert result.ok, result.summary
    path = Path(result.evidence["summary_path"])
    assert path == ctx.run_dir / "summary.md"
    text = path.read_text()
    assert text.startswith("# textkit 0.2\n")
    assert "**ready**" in text and "Ship textkit" in text
    assert "- [x] tasks done and merged: 2/2" in text
    assert "- [x] tests green: 23 passed, 0 failed or errors" in text
    assert "`python -m pytest`: 23 passed, 0 failed, 0 errors, 1 skipped" in text
    assert "bandit B108 at `textkit/cache.py:10`" in text
    assert "- T2: attempt 1: exit 1; retrying in 0.5 s; then done on attempt 2" in text
    assert "| T2 | task T2 | simulated | done | 2 | 4.0 s | 3,500 | $0.0500 | 1 |" in text
    assert "| review-agent | the stage's own agent |" in text
    assert "| **total** | | | | 3 | | 4,800 | $0.0800 | |" in text
    assert "| 6 | Test | approved |" in text and "| 9 | Complete | done |" in text
    assert "so far" not in text and "; took " in text
    assert "Verdict: approve" in text
    assert "Tidied: `b.py`." in text
    assert "1 medium-severity finding(s) to look at" in text
    assert result.evidence["tests"] == {"passed": 23, "failed": 0, "errors": 0, "skipped": 1}
    assert result.evidence["retries"] == {"T2": 2}
    assert result.evidence["ready"] is True


def test_failing_tests_make_the_run_not_ready(tmp_path: Path) -> None:
    tests = {**GREEN_TESTS, "failed": 2, "passed": 21}
    ctx, _ = context(tmp_path, StageName.COMPLETE, tasks=TASKS, evidence=evidence(test=tests))
    result = CompleteRunner().run(ctx)
    assert not result.ok
    assert "tests not green: 21 passed, 2 failed or errors" in result.summary
    assert "**NOT ready**" in Path(result.evidence["summary_path"]).read_text()


def test_unfinished_tasks_changes_requested_and_skipped_high_findings(tmp_path: Path) -> None:
    tasks = [*TASKS, done_task("T3", status=TaskStatus.FAILED, merged=False)]
    high = {**SECURITY, "counts": {"high": 1, "medium": 0, "low": 0}}
    ctx, _ = context(
        tmp_path,
        StageName.COMPLETE,
        tasks=tasks,
        evidence=evidence(security=high, review={"verdict": "changes requested"}),
        statuses={StageName.SECURITY: StageStatus.SKIPPED},
    )
    result = CompleteRunner().run(ctx)
    assert not result.ok
    problems = result.evidence["problems"]
    assert any("T3 failed" in p for p in problems)
    assert "high-severity findings: 1" in problems
    assert "review: changes requested" in problems
    assert "the security scan was skipped" in result.evidence["left"]


def test_high_findings_a_person_approved_are_accepted(tmp_path: Path) -> None:
    high = {**SECURITY, "counts": {"high": 1, "medium": 0, "low": 0}}
    ctx, _ = context(tmp_path, StageName.COMPLETE, tasks=TASKS, evidence=evidence(security=high))
    stages = dict(ctx.state.stages)
    stages[StageName.SECURITY] = stages[StageName.SECURITY].model_copy(update={"decided_by": "app"})
    ctx = type(ctx)(**{**ctx.__dict__, "state": ctx.state.model_copy(update={"stages": stages})})
    result = CompleteRunner().run(ctx)
    assert result.ok, result.summary
    assert (
        "high-severity findings: 1 (accepted by app)"
        in Path(result.evidence["summary_path"]).read_text()
    )


def test_an_empty_run_still_gets_a_summary(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, StageName.COMPLETE)
    result = CompleteRunner().run(ctx)
    assert result.ok, result.summary
    text = Path(result.evidence["summary_path"]).read_text()
    assert "No tests ran" in text and "The security stage did not run." in text


def test_a_ready_run_lands_its_branch_on_the_users_branch(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", {"a.py": "a = 1\n"})
    git(workspace, "branch", f"orch/{RUN_ID}")
    checkout = workspace / ".orchestrator" / "worktrees" / "_run"
    git(workspace, "worktree", "add", "--quiet", str(checkout), f"orch/{RUN_ID}")
    (checkout / "b.py").write_text("b = 2\n")
    git(checkout, "add", "-A")
    git(checkout, "commit", "--quiet", "-m", "T1: b")
    ctx, _ = context(workspace, StageName.COMPLETE, tasks=TASKS, evidence=evidence())
    result = CompleteRunner().run(ctx)
    assert result.ok, result.summary
    assert result.evidence["landed"] == f"main fast-forwarded to orch/{RUN_ID}"
    assert (workspace / "b.py").read_text() == "b = 2\n"


def test_a_run_that_is_not_ready_leaves_the_users_branch_alone(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", {"a.py": "a = 1\n"})
    git(workspace, "branch", f"orch/{RUN_ID}")
    head = git(workspace, "rev-parse", "HEAD")
    tests = {**GREEN_TESTS, "failed": 1}
    ctx, _ = context(workspace, StageName.COMPLETE, tasks=TASKS, evidence=evidence(test=tests))
    result = CompleteRunner().run(ctx)
    assert not result.ok
    assert git(workspace, "rev-parse", "HEAD") == head
    assert f"the run's work is on branch `orch/{RUN_ID}` (not merged)" in result.evidence["left"]


def test_a_finding_passed_unchanged_in_a_fix_round_names_who_accepted_it(tmp_path: Path) -> None:
    """Trial: the user approved security's high finding; the fix round passed it unchanged
    (by the engine), and summary.md said "accepted by engine" — as if nobody had looked. The
    pre-existing findings the stage listed apart were missing from the summary."""
    high = {
        **SECURITY,
        "counts": {"high": 1, "medium": 0, "low": 0},
        "pre_existing": 3,
        "pre_existing_counts": {"high": 0, "medium": 1, "low": 2},
    }
    ctx, _ = context(tmp_path, StageName.COMPLETE, tasks=TASKS, evidence=evidence(security=high))
    stages = dict(ctx.state.stages)
    stages[StageName.SECURITY] = stages[StageName.SECURITY].model_copy(
        update={"decided_by": "engine"}
    )
    ctx = type(ctx)(**{**ctx.__dict__, "state": ctx.state.model_copy(update={"stages": stages})})
    files = RunFiles(tmp_path, RUN_ID)
    files.dir.mkdir(parents=True, exist_ok=True)
    with files.events.open("w") as log:
        for seq, by in ((1, "cli"), (2, "engine")):
            decided = ev.GateDecided(seq=seq, stage=StageName.SECURITY, decision="approve", by=by)
            log.write(ev.dump_event(decided) + "\n")
    result = CompleteRunner().run(ctx)
    assert result.ok, result.summary
    text = Path(result.evidence["summary_path"]).read_text()
    assert "high-severity findings: 1 (accepted by cli; nothing new in the fix rounds)" in text
    assert "not counted): 0 high, 1 medium, 2 low." in text


def test_what_is_left_names_the_lint_issues_ruff_could_not_fix(tmp_path: Path) -> None:
    """Trial: summary.md said "1 lint issue(s) ruff could not fix" without saying which."""
    issue = "src/pkg/__init__.py:82 F401 `re` imported but unused"
    cleanup = {"changed": ["src/pkg/__init__.py"], "remaining": 1, "remaining_issues": [issue]}
    ctx, _ = context(tmp_path, StageName.COMPLETE, tasks=TASKS, evidence=evidence(cleanup=cleanup))
    result = CompleteRunner().run(ctx)
    assert f"1 lint issue(s) ruff could not fix: {issue}" in result.evidence["left"]
