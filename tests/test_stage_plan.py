"""The plan stage: adopt PLAN.md, or have the agent write it, with every error sent back."""

from __future__ import annotations

from pathlib import Path

from stage_support import FakeAgent, context, make_config, write_files

from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.plan import parse_plan
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.stages.plan import MAX_ATTEMPTS, PlanRunner, plan_format

GOOD_PLAN = """# Plan: Greeter

Say hello.

## T1: Greeting
depends: none
files: greet.py

Write greet().

## T2: CLI
depends: T1
files: cli.py, greet.py

Call greet().

## T3: Docs
depends: none
files: README.md
"""
BAD_PLAN = """# Plan: Greeter

## T1: Greeting
depends: T9
colour: blue
"""
OK = AgentResult(ok=True, final_text="wrote PLAN.md")


def test_adopts_an_existing_plan_without_a_goal(tmp_path: Path) -> None:
    write_files(tmp_path, {"PLAN.md": GOOD_PLAN})
    ctx, _ = context(tmp_path, StageName.PLAN)
    result = PlanRunner().run(ctx)
    assert result.ok
    # the plan says "Say hello.": the run had no goal, the plan has one (a real trial read
    # "(no goal given)" above a plan that had one)
    assert result.summary.startswith("adopted PLAN.md: 3 tasks, 2 waves (its own goal)")
    assert "given no goal, so the existing `PLAN.md` is the plan and its goal the run's" in (
        result.details
    )
    write_files(tmp_path, {"PLAN.md": GOOD_PLAN.replace("Say hello.\n", "")})
    bare = PlanRunner().run(ctx)
    assert bare.summary.startswith("adopted PLAN.md: 3 tasks, 2 waves (no goal given)")
    assert "given no goal, so the existing `PLAN.md` is the plan.\n" in bare.details
    assert "- wave 1: T1, T3" in result.details
    assert "Critical path: T1 → T2" in result.details
    assert result.evidence["source"] == "adopted"
    assert result.evidence["waves"] == [["T1", "T3"], ["T2"]]


def test_no_goal_and_no_plan_says_what_to_do(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, StageName.PLAN)
    result = PlanRunner().run(ctx)
    assert not result.ok
    assert result.summary == "no goal and no PLAN.md: nothing to plan"
    assert "--goal" in result.details and "GOAL.md" in result.details


def test_an_invalid_adopted_plan_lists_every_problem(tmp_path: Path) -> None:
    write_files(tmp_path, {"PLAN.md": BAD_PLAN})
    ctx, _ = context(tmp_path, StageName.PLAN)
    result = PlanRunner().run(ctx)
    assert not result.ok
    assert "PLAN.md is invalid" in result.summary
    assert "T9" in result.details and "colour" in result.details
    assert len(result.evidence["errors"]) >= 2


def test_goal_agent_fixes_its_plan_after_the_errors_come_back(tmp_path: Path) -> None:
    write_files(tmp_path, {"PLAN.md": GOOD_PLAN})  # an old plan the agent replaces
    (tmp_path / ".orchestrator" / "runs").mkdir(parents=True)
    agent = FakeAgent([OK, OK], writes=[{"PLAN.md": BAD_PLAN}, {"PLAN.md": GOOD_PLAN}])
    agent.root = tmp_path
    ctx, _ = context(tmp_path, StageName.PLAN, goal="Greet people", run_agent=agent)
    (ctx.run_dir / "analysis.md").write_text("# Analysis\nmap of the code\n")
    result = PlanRunner().run(ctx)
    assert result.ok, result.summary
    assert len(agent.prompts) == 2
    assert agent.profiles == ["claude", "claude"]  # no plan agent: the default profile
    first, second = agent.prompts
    assert "Greet people" in first and "map of the code" in first
    assert "## PLAN.md format" not in first and "Key lines" in first  # CLAUDE.md's format
    assert "Errors in your last plan (attempt 1 of 3)" in second
    assert "T9" in second and "colour" in second
    assert "after 2 attempts" in result.summary
    assert result.evidence["attempts"] == 2
    assert parse_plan(tmp_path / "PLAN.md").tasks[0].id == "T1"


def test_goal_agent_gives_up_after_the_bounded_attempts(tmp_path: Path) -> None:
    agent = FakeAgent([OK], writes=[{"PLAN.md": BAD_PLAN}] * MAX_ATTEMPTS)
    agent.root = tmp_path
    config = make_config(stages={"plan": {"agent": "planner"}})
    ctx, _ = context(tmp_path, StageName.PLAN, goal="x", run_agent=agent, config=config)
    result = PlanRunner().run(ctx)
    assert not result.ok
    assert len(agent.prompts) == MAX_ATTEMPTS
    assert agent.profiles == ["planner"] * MAX_ATTEMPTS
    assert f"still invalid after {MAX_ATTEMPTS} attempts" in result.summary
    assert "T9" in result.details


def test_goal_from_goal_md_and_a_plan_given_as_the_final_message(tmp_path: Path) -> None:
    write_files(tmp_path, {"GOAL.md": "Greet the world\n"})
    answer = AgentResult(ok=True, final_text="Here it is:\n\n```markdown\n" + GOOD_PLAN + "```\n")
    agent = FakeAgent([answer])
    ctx, _ = context(tmp_path, StageName.PLAN, run_agent=agent)
    result = PlanRunner().run(ctx)
    assert result.ok, result.details
    assert "Greet the world" in agent.prompts[0]
    assert "(from GOAL.md)" in agent.prompts[0]
    assert len(parse_plan(tmp_path / "PLAN.md").tasks) == 3


def test_a_failing_plan_agent_fails_the_stage(tmp_path: Path) -> None:
    agent = FakeAgent([AgentResult(ok=False, reason="agent not available: no claude")])
    ctx, _ = context(tmp_path, StageName.PLAN, goal="x", run_agent=agent)
    result = PlanRunner().run(ctx)
    assert not result.ok
    assert "agent not available" in result.summary
    assert not (tmp_path / "PLAN.md").exists()


def test_a_crashing_agent_callable_is_reported_not_raised(tmp_path: Path) -> None:
    def explode(prompt: str, profile: str) -> AgentResult:
        raise RuntimeError("backend bug")

    ctx, _ = context(tmp_path, StageName.PLAN, goal="x", run_agent=explode)
    result = PlanRunner().run(ctx)
    assert not result.ok and "backend bug" in result.summary


def test_reject_feedback_reaches_an_explicit_plan_agent(tmp_path: Path) -> None:
    write_files(tmp_path, {"PLAN.md": GOOD_PLAN})
    agent = FakeAgent([OK])
    config = make_config(stages={"plan": {"agent": "planner"}})
    ctx, _ = context(
        tmp_path, StageName.PLAN, config=config, run_agent=agent, feedback="split T2 in two"
    )
    result = PlanRunner().run(ctx)
    assert result.ok
    assert "split T2 in two" in agent.prompts[0]


def test_plan_format_falls_back_to_the_bundled_claude_md(tmp_path: Path) -> None:
    text = plan_format(tmp_path)
    assert "## T1: User model" in text  # a heading inside the example's code fence
    assert "## Dependency rules" not in text


def test_an_agent_that_writes_no_plan_is_told_so(tmp_path: Path) -> None:
    agent = FakeAgent([OK, OK], writes=[{}, {"PLAN.md": GOOD_PLAN}])
    agent.root = tmp_path
    ctx, _ = context(tmp_path, StageName.PLAN, goal="x", run_agent=agent)
    result = PlanRunner().run(ctx)
    assert result.ok
    assert f"{tmp_path / 'PLAN.md'} was not written" in agent.prompts[1]


def test_an_agent_that_leaves_the_plan_as_it_was_is_reported_honestly(tmp_path: Path) -> None:
    write_files(tmp_path, {"PLAN.md": GOOD_PLAN})
    ctx, _ = context(tmp_path, StageName.PLAN, goal="x", run_agent=FakeAgent([OK]))
    result = PlanRunner().run(ctx)
    assert result.ok
    assert result.summary.startswith("claude left PLAN.md unchanged: 3 tasks")
