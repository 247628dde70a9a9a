"""The review stage: plan coverage, scope creep, and the agent's parsed verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from stage_support import FakeAgent, context, done_task, git_repo, make_config, write_files

from orchestrator_tui.core.models import Plan, StageName, Task, TaskStatus
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.stages.review import ReviewRunner, acceptance_criteria, parse_verdict

PLAN = Plan(
    title="Shop",
    tasks=(
        Task(id="T1", title="Model", files=("shop/models.py", "tests/test_models.py"),
             description="Add Item.\nDone when: `pytest tests/test_models.py` passes."),
        Task(id="T2", title="API", files=("shop/api/*.py",), depends=("T1",)),
        Task(id="T3", title="Docs", files=("docs/",)),
        Task(id="T4", title="Search", files=("shop/search.py",)),
    ),
)  # fmt: skip
TASKS = [
    done_task("T1", ["shop/models.py", "tests/test_models.py"]),
    done_task("T2", ["shop/api/items.py", "shop/settings.py"], attempt=2),
    done_task("T3", []),
    done_task("T4", [], status=TaskStatus.FAILED, merged=False, reason="exit 1"),
    done_task("security-agent", status=TaskStatus.PENDING, merged=False),  # not a plan task
]
CONFIG = make_config(stages={"review": {"agent": "reviewer"}})


def test_coverage_lists_scope_creep_idle_tasks_and_open_work(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, StageName.REVIEW, tasks=TASKS, plan=PLAN)
    result = ReviewRunner().run(ctx)
    assert result.ok
    assert result.evidence["scope_creep"] == {"T2": ["shop/settings.py"]}
    assert result.evidence["unchanged"] == ["T3"]
    assert result.evidence["open"] == ["T4"]
    assert result.blockers == ("T4 is not done",)
    report = (ctx.run_dir / "review.md").read_text()
    assert "scope creep: T2 touched shop/settings.py (not declared)" in report
    assert "T3 is done but changed no files" in report
    assert "T4 is failed: its work is not in the run" in report
    assert "- **T1**: `pytest tests/test_models.py` passes." in report
    assert "| T2 | done | 2 | `shop/api/items.py`, `shop/settings.py` | `shop/settings.py` |" in (
        report
    )
    assert "coverage only" in result.summary


def test_agent_approves(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", {"PLAN.md": "# Plan: Shop\n", "shop/models.py": ""})
    write_files(workspace, {"shop/models.py": "class Item:\n    pass\n"})
    review = "## Summary\nGood.\n\nVerdict: approve\n"
    agent = FakeAgent([AgentResult(ok=True, final_text=review)])
    tasks = [done_task("T1", ["shop/models.py"])]
    ctx, _ = context(
        workspace, StageName.REVIEW, tasks=tasks, plan=PLAN, config=CONFIG, run_agent=agent
    )
    result = ReviewRunner().run(ctx)
    assert result.ok, result.summary
    assert result.evidence["verdict"] == "approve"
    assert result.summary.startswith("reviewer: approve")
    prompt = agent.prompts[0]
    assert "# Plan: Shop" in prompt and "+class Item:" in prompt  # PLAN.md and the diff
    assert "## The orchestrator's review report" in prompt
    text = (ctx.run_dir / "review.md").read_text()
    assert text.rstrip().splitlines()[-1] == "Verdict: approve"


def test_agent_requests_changes(tmp_path: Path) -> None:
    agent = FakeAgent(
        [AgentResult(ok=True, final_text="Missing tests.\nVerdict: changes requested")]
    )
    ctx, _ = context(tmp_path, StageName.REVIEW, tasks=TASKS[:1], config=CONFIG, run_agent=agent)
    result = ReviewRunner().run(ctx)
    assert not result.ok
    assert result.evidence["verdict"] == "changes requested"
    assert "changes requested" in result.summary
    assert "Missing tests." in result.evidence["send_back"]["feedback"]


def test_a_review_without_a_verdict_line_fails(tmp_path: Path) -> None:
    agent = FakeAgent([AgentResult(ok=True, final_text="Verdict: approve\nThanks!")])
    ctx, _ = context(tmp_path, StageName.REVIEW, tasks=TASKS[:1], config=CONFIG, run_agent=agent)
    result = ReviewRunner().run(ctx)
    assert not result.ok
    assert "without a verdict line" in result.summary
    assert result.evidence["verdict"] == ""


def test_a_failing_review_agent_fails_the_stage(tmp_path: Path) -> None:
    agent = FakeAgent([AgentResult(ok=False, reason="stalled")])
    ctx, _ = context(tmp_path, StageName.REVIEW, tasks=TASKS[:1], config=CONFIG, run_agent=agent)
    result = ReviewRunner().run(ctx)
    assert not result.ok and "reviewer agent failed (stalled)" in result.summary
    assert (ctx.run_dir / "review.md").is_file()


def test_no_tasks_and_no_plan(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, StageName.REVIEW)
    result = ReviewRunner().run(ctx)
    assert result.ok and result.summary.startswith("0/0 tasks done")


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Fine.\n\nVerdict: approve\n", "approve"),
        ("Fine.\nVerdict: changes requested", "changes requested"),
        ("**Verdict: approve**", "approve"),
        ("verdict: Changes Requested\n\n", "changes requested"),
        ("Verdict: approved", ""),
        ("Verdict: approve\nP.S.", ""),
        ("", ""),
        ("I approve", ""),
    ],
)
def test_parse_verdict(text: str, verdict: str) -> None:
    assert parse_verdict(text) == verdict


def test_acceptance_criteria() -> None:
    text = (
        "Build it.\nDone when: tests pass and\nthe docs build.\n\nMore text.\n"
        "- **Done when:** docs exist\n- another item\nDone when:\n"
    )
    assert acceptance_criteria(text) == ["tests pass and the docs build.", "docs exist"]
