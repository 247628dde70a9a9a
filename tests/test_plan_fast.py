"""The fast paths agree with straightforward references (tests/plan_reference.py) on
random plans: the PLAN.md reader (every record, every problem and its line), and the
graph answers that are remembered between calls for the same plan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from plan_reference import reference_read_markdown

from orchestrator_tui.core.graph import critical_path, dependency_positions, waves
from orchestrator_tui.core.plan import PlanError, read_markdown
from orchestrator_tui.core.plan_fields import TaskRecord

IDS = ["T1", "T2", "T3", "a-1", "none", "T 4", "x" * 70]
LINES = st.one_of(
    st.sampled_from(IDS).map(lambda i: f"## {i}: Title of {i}"),
    st.sampled_from(IDS).map(lambda i: f"##\t{i}:"),
    st.sampled_from(IDS).map(lambda i: f"### {i}: deeper"),
    st.sampled_from(["## Notes", "##", "## : x", "### Notes: text", "#  Plan: P", "# Plan:"]),
    st.lists(st.sampled_from(IDS[:4]), max_size=3).map(lambda d: "depends: " + ", ".join(d)),
    st.sampled_from(
        [
            "depends: none",
            "  Depends : T1,,T2 ",
            "files: src/a.py, src/*.py",
            "files:",
            "estimate: 20m",
            "estimate: soon",
            "timeout: 1h30m",
            "retries: 3",
            "retries: 300",
            "priority: -2",
            "status: done",
            "status: maybe",
            "agent: codex",
            "run: make",
            "colour: red",
            "depends: T1",
        ]
    ),
    st.sampled_from(["", " ", "\t", "Some words.", "key: value in a description", "- item"]),
    st.sampled_from(["```", "~~~", "  ```python", "````"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=30))
def test_the_fast_reader_agrees_with_the_reference(lines: list[str]) -> None:
    text = "\n".join(lines)
    try:
        expected = reference_read_markdown(text)
    except PlanError as exc:
        expected_problems = exc.problems
        try:
            read_markdown(text)
        except PlanError as fast:
            assert fast.problems == expected_problems
        else:
            raise AssertionError("the fast reader accepted a plan the reference refuses")
        return
    assert read_markdown(text) == expected


@st.composite
def plans(draw: st.DrawFn) -> tuple[TaskRecord, ...]:
    size = draw(st.integers(1, 25))
    tasks = []
    for i in range(size):
        depends = draw(st.lists(st.integers(0, max(0, i - 1)), max_size=3)) if i else []
        estimate = draw(st.sampled_from([None, 60.0, 600.0]))
        tasks.append(TaskRecord(f"T{i}", "t", tuple(f"T{d}" for d in depends), estimate=estimate))
    return tuple(tasks)


@settings(max_examples=100, deadline=None)
@given(plans(), plans())
def test_remembered_graph_answers_are_those_of_the_plan_asked_about(
    first: tuple[TaskRecord, ...], second: tuple[TaskRecord, ...]
) -> None:
    for tasks in (first, second, first):
        as_list = list(tasks)  # a list is never remembered: computed afresh each time
        assert waves(tasks) == waves(as_list)
        assert critical_path(tasks) == critical_path(as_list)
        assert dependency_positions(tasks) == dependency_positions(as_list)
