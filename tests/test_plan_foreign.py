"""Plans that are nearly PLAN.md (a `### T6:` heading) and other tools' plans:
get-shit-done phase plans are read; CCPM epics, spec-kit plans, front matter and XML
blocks are named, at the line where they were recognised, with what to do."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orchestrator_tui.core.plan import PlanError, read_markdown, read_plan


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def problems(text: str, name: str = "PLAN.md") -> list[tuple[int, str, str]]:
    with pytest.raises(PlanError) as caught:
        read_markdown(text, name)
    return [(p.line, p.message, p.hint) for p in caught.value.problems]


DEEP_HINT = "a task heading has two #: `## T6: Title`; a sub-heading of a description has no `ID:`"


def test_a_task_heading_with_three_hashes_is_reported_at_its_line() -> None:
    text = md("""
        # Plan: Typo

        ## T5: Five
        depends: none

        ### T6: Six
        depends: T5

        ### Notes: a sub-heading of the description stays one
        """)
    assert problems(text) == [(6, "### is not a task heading: '### T6: Six'", DEEP_HINT)]


def test_a_plan_of_three_hash_headings_is_not_a_plan_without_tasks() -> None:
    text = "# Plan: x\n\n### T6: Six\ndepends: none\n"
    assert problems(text) == [(3, "### is not a task heading: '### T6: Six'", DEEP_HINT)]


FOREIGN = Path(__file__).parent / "fixtures" / "foreign"


def test_a_get_shit_done_phase_plan_is_read_task_by_task() -> None:
    plan = read_plan(FOREIGN / "gsd" / "01-02-PLAN.md")
    assert plan.title == "phase 01-foundation, plan 02"
    assert plan.goal.startswith("Set up the database layer and a health endpoint.")
    assert plan.notes == ("read as a get-shit-done phase plan (<task> blocks, run in order)",)
    assert [(t.id, t.title, t.depends, t.files, t.line, t.skip) for t in plan.tasks] == [
        ("T1", "Define the schema", (), ("src/db/schema.ts",), 29, False),
        ("T2", "Database client", ("T1",), ("src/db/client.ts", "src/db/schema.ts"), 38, False),
        ("T3", "checkpoint:human-verify: The schema and the client", ("T2",), (), 46, True),
        ("T4", "Health endpoint", ("T3",), ("src/app/api/health/route.ts",), 52, False),
    ]
    first = plan.tasks[0]
    assert first.description == (
        "Write the users and sessions tables with Drizzle. Use text ids, not serials:\n"
        "the ids are shared with the auth provider.\n\n"
        "Verify: npx drizzle-kit check\n\n"
        "Done when: Both tables exist and the check passes"
    )
    assert plan.tasks[2].note == "checkpoint:human-verify"


def test_gsd_tasks_that_say_what_they_depend_on_are_not_chained() -> None:
    text = md("""
        <tasks>
        <task type="auto" depends_on="">
          <name>Task 1: A</name>
        </task>
        <task type="auto">
          <name>Task 2: B</name>
          <depends_on>none</depends_on>
        </task>
        <task type="auto" depends_on="1, Task 2">
          <name>Task 3: C</name>
          <status>done</status>
        </task>
        </tasks>
        """)
    plan = read_markdown(text, "01-01-PLAN.md")
    assert [(t.id, t.depends, t.done) for t in plan.tasks] == [
        ("T1", (), False),
        ("T2", (), False),
        ("T3", ("T1", "T2"), True),
    ]


def test_a_gsd_plan_is_checked_like_any_other() -> None:
    text = "<task><name>Task 1: A</name><depends_on>7</depends_on></task>\n<task></task>\n"
    assert problems(text) == [
        (1, "T1 depends on unknown task 'T7'", "no task has that ID"),
        (2, "<task> 2 has no <name>", "add <name>Task 1: ...</name>"),
    ]


@pytest.mark.parametrize(
    ("fixture", "line", "message"),
    [
        ("ccpm/epic.md", 1, "this is a CCPM epic (epic.md), not a plan this tool reads"),
        ("ccpm/001.md", 1, "this is a CCPM task file (front matter with depends_on and parallel)"),
        (
            "spec-kit/plan.md",
            1,
            "this is a spec-kit implementation plan (plan.md); its tasks are in tasks.md",
        ),
        ("spec-kit/tasks.md", 6, "this is a spec-kit task list (tasks.md: `- [ ] T001 ...` lines)"),
        ("front-matter.md", 1, "YAML front matter (--- ... ---) and no `## ID: Title` task"),
        ("xml.md", 5, "an XML block (<plan>) and no `## ID: Title` task"),
    ],
)
def test_other_tools_plans_are_named_where_they_were_recognised(
    fixture: str, line: int, message: str
) -> None:
    with pytest.raises(PlanError) as caught:
        read_plan(FOREIGN / fixture)
    (problem,) = caught.value.problems
    assert (problem.line, problem.message) == (line, message)
    assert "## " in problem.hint  # what to write instead


def test_a_plain_text_without_tasks_still_has_no_tasks() -> None:
    assert problems("# Plan: nothing yet\n\nSome words.\n") == [
        (0, "the plan has no tasks", "add `## T1: Title` sections")
    ]
