"""The plan parser (orchestrator_tui.core.plan): PLAN.md, plan.toml and Task Master's
tasks.json; every problem with its file, line and hint, all at once; bad input never
raises anything but PlanError and never hangs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator_tui.core.graph import ready_tasks, waves
from orchestrator_tui.core.models import Plan, Task
from orchestrator_tui.core.plan import (
    PlanError,
    PlanProblem,
    format_duration,
    parse_duration,
    parse_markdown,
    parse_plan,
    parse_plan_bytes,
    render_plan,
)
from orchestrator_tui.core.plan_formats import parse_tasks_json, parse_toml

PROPERTY = settings(max_examples=120, deadline=None)
KNOWN_KEYS = "depends, files, agent, run, timeout, retries, priority, estimate, status"
DURATION_HINT = "use forms like 45s, 20m, 1h30m"

DESIGN_EXAMPLE = """\
# Plan: Add user accounts

Free text about the goal.

## T1: User model
depends: none
files: src/models/user.py, tests/test_user.py

What to build and how to know it is done.

## T2: REST endpoints
depends: T1
files: src/api/users.py
agent: codex
timeout: 20m
"""


def problems_of(text: str | bytes, name: str = "PLAN.md") -> list[tuple[int, str, str]]:
    """(line, message, hint) of every problem, checking that each prints on one line."""
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(PlanError) as caught:
        parse_plan_bytes(data, name)
    problems = caught.value.problems
    assert problems, "a PlanError without problems"
    for problem in problems:
        assert problem.file == name
        assert "\n" not in str(problem) and "\r" not in str(problem)
    assert str(caught.value).split("\n") == [str(p) for p in problems]
    return [(p.line, p.message, p.hint) for p in problems]


def md(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# --- PLAN.md -------------------------------------------------------------------------------


def test_the_design_example_parses_into_tasks_with_their_lines() -> None:
    plan = parse_markdown(DESIGN_EXAMPLE)
    assert plan.title == "Add user accounts"
    assert plan.goal == "Free text about the goal."
    assert plan.source == "PLAN.md"
    first, second = plan.tasks
    assert first == Task(
        id="T1",
        title="User model",
        files=("src/models/user.py", "tests/test_user.py"),
        description="What to build and how to know it is done.",
        line=5,
    )
    assert second == Task(
        id="T2",
        title="REST endpoints",
        depends=("T1",),
        files=("src/api/users.py",),
        agent="codex",
        timeout=1200.0,
        line=11,
    )
    assert plan.task("T2") is second


def test_every_key_is_read() -> None:
    plan = parse_markdown(
        md("""
        # Plan: Keys

        ## build-1: Build it
        DEPENDS: -
        Files: src/a.py ,, src/b/*.py,
        agent: aider
        run: make build ARGS="a, b: c"
        timeout: 1h30m
        retries: 3
        priority: -2
        estimate: 45s
        status: Done

        Body.
        """)
    )
    (built,) = plan.tasks
    assert built.model_dump() == {
        "id": "build-1",
        "title": "Build it",
        "depends": (),
        "files": ("src/a.py", "src/b/*.py"),
        "agent": "aider",
        "run": 'make build ARGS="a, b: c"',
        "timeout": 5400.0,
        "retries": 3,
        "priority": -2,
        "estimate": 45.0,
        "description": "Body.",
        "done": True,
        "line": 3,
        "skip": False,
        "note": "",
    }


def test_the_description_is_kept_verbatim_after_the_key_lines() -> None:
    plan = parse_markdown(
        md("""
        # Plan: Descriptions

        Goal line one.
        ## Background, a heading that is not a task
        Goal line three.

        ## T1: First
        files: a.py

        Note: this line looks like a key but follows the blank line.
          - an indented list item

        ```python
        ## T9: not a task inside a fence
        depends: T404
        ```
        ### A sub-heading is description too
        ## T2: Second

        Only description.
        """)
    )
    assert (
        plan.goal == "Goal line one.\n## Background, a heading that is not a task\nGoal line three."
    )
    assert [t.id for t in plan.tasks] == ["T1", "T2"]
    assert plan.tasks[0].description == (
        "Note: this line looks like a key but follows the blank line.\n"
        "  - an indented list item\n\n"
        "```python\n## T9: not a task inside a fence\ndepends: T404\n```\n"
        "### A sub-heading is description too"
    )
    assert plan.tasks[1].description == "Only description."
    assert plan.tasks[1].line == 18


def test_every_problem_of_a_plan_is_reported_at_once_with_line_and_hint() -> None:
    text = md("""
        # Plan: Broken

        ## T1: First
        timeout: 20 minutes
        retries: three

        ## T2: Second
        depends: T1, T01
        dependson: T1
        estimate: 1h30

        ## T1: Again

        ## T3: Loop
        depends: T4
        colour: red

        ## T4: Loop back
        depends: T3
        retries: 1.5

        ## T5: Self
        depends: T5
        depends: T1
        ## Notes
        ## T6:
        ## T 7: Spaced
        ## T8: Priority
        priority: high
        status: maybe
        agent:
        """)
    assert problems_of(text) == [
        (4, "timeout: bad duration '20 minutes'", DURATION_HINT),
        (5, "retries: 'three' is not a whole number", "a whole number from 0 to 100"),
        (7, "T2 depends on unknown task 'T01'", "did you mean T1?"),
        (9, "unknown key 'dependson'", "did you mean depends?"),
        (10, "estimate: bad duration '1h30'", DURATION_HINT),
        (12, "duplicate task ID T1", "first at line 3"),
        (14, "dependency cycle: T3 → T4 → T3", "break it by removing one dependency"),
        (
            16,
            "unknown key 'colour'",
            f"known keys: {KNOWN_KEYS}; put a blank line before the description",
        ),
        (20, "retries: '1.5' is not a whole number", "a whole number from 0 to 100"),
        (22, "T5 depends on itself", "remove it from depends"),
        (24, "depends given twice for task T5", "keep one of them"),
        (25, "not a task heading: '## Notes'", "task headings are `## ID: Title`"),
        (26, "task T6 has no title", "write `## T6: Title`"),
        (27, "bad task ID 'T 7'", "IDs use letters, digits, '-', '_' and '.'"),
        (
            29,
            "priority: 'high' is not a whole number",
            "a whole number; among ready tasks the higher runs first",
        ),
        (30, "status: 'maybe' is not 'pending' or 'done'", "use pending or done"),
        (31, "agent: is empty", "name a backend or profile, e.g. claude"),
    ]


def test_a_cycle_is_reported_with_its_whole_path() -> None:
    text = md("""
        # Plan: Cycle

        ## T1: Start

        ## T3: Three
        depends: T1, T5

        ## T4: Four
        depends: T3

        ## T5: Five
        depends: T4
        """)
    assert problems_of(text) == [
        (5, "dependency cycle: T3 → T5 → T4 → T3", "break it by removing one dependency")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "retries: 101",
            (4, "retries: 101 is out of range 0..100", "a whole number from 0 to 100"),
        ),
        ("retries: -1", (4, "retries: -1 is out of range 0..100", "a whole number from 0 to 100")),
        ("timeout: 0m", (4, "timeout: duration '0m' must be more than zero", DURATION_HINT)),
        ("timeout: 20", (4, "timeout: bad duration '20'", DURATION_HINT)),
        ("timeout: -5m", (4, "timeout: bad duration '-5m'", DURATION_HINT)),
        ("estimate: 1m1h", (4, "estimate: bad duration '1m1h'", DURATION_HINT)),
        (
            "timeout: " + "9" * 400 + "h",
            (4, f"timeout: duration '{'9' * 400}h' is too long", DURATION_HINT),
        ),
    ],
    ids=[
        "retries-101",
        "retries-negative",
        "zero",
        "no-unit",
        "negative",
        "wrong-order",
        "too-long",
    ],
)
def test_bad_values_name_their_line(text: str, expected: tuple[int, str, str]) -> None:
    assert problems_of(f"# Plan: Values\n\n## T1: Task\n{text}\n") == [expected]


def test_an_unclosed_code_fence_is_reported_where_it_opens() -> None:
    text = "# Plan\n\n## T1: Task\n\n```\n## T2: Hidden\n"
    assert problems_of(text) == [
        (5, "this code fence is never closed", "close it with another ``` or ~~~ line")
    ]


def test_reserved_words_are_not_task_ids() -> None:
    text = "# Plan\n\n## none: Nothing\n\n## T2: Two\ndepends: none\n"
    assert problems_of(text) == [
        (3, "'none' cannot be a task ID", "`depends: none` means no dependencies")
    ]


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("45s", 45),
        ("20m", 1200),
        ("1h30m", 5400),
        ("1h", 3600),
        ("2h 5m 3s", 7503),
        ("1.5h", 5400),
        ("0.5s", 0.5),
        (" 90S ", 90),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "20", "m", "20 minutes", "1m1h", "-5m", "0s", "1e3s"])
def test_parse_duration_rejects_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"45s, 20m, 1h30m|more than zero"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (45, "45s"),
        (1200, "20m"),
        (5400, "1h30m"),
        (3600, "1h"),
        (3661, "1h1m1s"),
        (90.5, "1m30.5s"),
        (0.00001, "0.00001s"),
        (0.1234567, "0.1234567s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@PROPERTY
@given(
    st.one_of(
        st.integers(min_value=1, max_value=10**7),
        st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False),
    )
)
def test_format_duration_reads_back_the_same(seconds: float) -> None:
    text = format_duration(seconds)
    assert "e" not in text
    assert parse_duration(text) == seconds


# --- plan.toml -----------------------------------------------------------------------------


def test_plan_toml_is_the_same_plan_as_its_markdown() -> None:
    toml_text = md('''
        title = "Add user accounts"
        goal = "Free text about the goal."

        [[task]]
        id = "T1"
        title = "User model"
        files = ["src/models/user.py", "tests/test_user.py"]
        description = """
        What to build and how to know it is done."""

        [[task]]
        id = "T2"  # the API
        title = "REST endpoints"
        depends = "T1"
        files = ["src/api/users.py"]
        agent = "codex"
        timeout = 1200
        ''')
    plan = parse_toml(toml_text)
    assert plan.same_as(parse_markdown(DESIGN_EXAMPLE))
    assert [t.line for t in plan.tasks] == [5, 12]
    assert plan.source == "plan.toml"
    with_status = parse_toml('[[task]]\nid = "A"\ntitle = "a"\nstatus = "done"\nretries = 0\n')
    assert with_status.tasks[0].done and with_status.tasks[0].retries == 0


def test_plan_toml_problems_name_the_line_of_their_key() -> None:
    text = md("""
        title = "Broken"
        owner = "me"

        [[task]]
        id = "A"
        title = "First"
        timeout = "20 minutes"

        [[task]]
        id = "A"
        title = "Again"
        dependson = ["B"]

        [[task]]
        id = "B"
        depends = ["A", "Z"]
        retries = 1.5
        colour = "red"
        """)
    assert problems_of(text, "plan.toml") == [
        (2, "unknown top-level key 'owner'", "use title, goal and [[task]] tables"),
        (7, "timeout: bad duration '20 minutes'", DURATION_HINT),
        (10, "duplicate task ID A", "first at line 5"),
        (12, "unknown key 'dependson'", "did you mean depends?"),
        (15, "task B has no title", 'add title = "..."'),
        (15, "B depends on unknown task 'Z'", "no task has that ID"),
        (17, "retries: 1.5 is not a whole number", "a whole number from 0 to 100"),
        (
            18,
            "unknown key 'colour'",
            f"known keys: id, title, description, {KNOWN_KEYS}",
        ),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'title = "x"\n[[task]\nid = "A"\n',
            (
                2,
                "TOML: Expected ']]' at the end of an array declaration (at line 2, column 7)",
                "fix the TOML syntax",
            ),
        ),
        (
            'title = "x"\n\n[task]\nid = "A"\n',
            (3, "task is not a list of tables", "use [[task]], not [task]"),
        ),
        ("task = [1]\n", (1, "a task is not a table", "write [[task]] tables")),
        ('[[task]]\ntitle = "No id"\n', (1, "a [[task]] has no id", 'add id = "T1"')),
        ("", (0, "the plan has no tasks", "add [[task]] tables")),
        ("a = " + "[" * 50_000, (0, "TOML: nested too deeply", "is this the plan file?")),
        (
            '[[task]]\nid = "A"\ntitle = "t"\ntimeout = nan\n',
            (4, "timeout: nan is not a duration", DURATION_HINT),
        ),
    ],
    ids=["syntax", "single-table", "not-a-table", "no-id", "empty", "deep-nesting", "nan"],
)
def test_plan_toml_structure_problems(text: str, expected: tuple[int, str, str]) -> None:
    assert problems_of(text, "plan.toml") == [expected]


# --- tasks.json ----------------------------------------------------------------------------

TASKS_JSON = """\
{
  "master": {
    "tasks": [
      {
        "id": 1,
        "title": "Setup",
        "description": "Set the project up",
        "details": "Use uv",
        "testStrategy": "pytest runs",
        "status": "done",
        "dependencies": [],
        "priority": "high",
        "subtasks": [
          {"id": 1, "title": "Init repo", "dependencies": [], "status": "done"},
          {"id": 2, "title": "Add CI", "dependencies": [1]}
        ]
      },
      {
        "id": 2,
        "title": "Feature",
        "dependencies": [1],
        "priority": "low",
        "subtasks": [
          {"id": 1, "title": "Model", "dependencies": ["1.2"]}
        ]
      }
    ]
  }
}
"""


def test_tagged_tasks_json_with_subtasks() -> None:
    plan = parse_tasks_json(TASKS_JSON)
    assert [(t.id, t.depends, t.done, t.priority, t.line) for t in plan.tasks] == [
        ("1.1", (), True, 1, 14),
        ("1.2", ("1.1",), True, 1, 15),  # a done task's subtasks are done (Task Master)
        ("1", ("1.1", "1.2"), True, 2, 5),
        ("2.1", ("1", "1.2"), False, 1, 24),
        ("2", ("1", "2.1"), False, 0, 19),
    ]
    setup = plan.task("1")
    assert setup.title == "Setup"
    assert setup.description == "Set the project up\n\nUse uv\n\nTest strategy: pytest runs"
    assert plan.task("1.1").title == "Init repo"
    resolved = {t.id for t in plan.tasks if t.done}
    assert ready_tasks(plan.tasks, resolved) == ["2.1"]
    assert waves(plan.tasks) == [["1.1"], ["1.2"], ["1"], ["2.1"], ["2"]]


def test_legacy_tasks_json() -> None:
    data = {
        "meta": {"projectName": "Demo"},
        "tasks": [
            {"id": 1, "title": "One", "status": "pending"},
            {"id": 2, "title": "Two", "dependencies": [1], "status": "done"},
        ],
    }
    plan = parse_plan_bytes(json.dumps(data, indent=2).encode(), "tasks.json")
    assert plan.title == "Demo"
    assert [(t.id, t.depends, t.done, t.line) for t in plan.tasks] == [
        ("1", (), False, 7),
        ("2", ("1",), True, 12),
    ]


def test_tasks_json_problems_name_the_task_line() -> None:
    data = {
        "tasks": [
            {"id": 1, "title": "One", "subtasks": [{"id": 1, "title": "Sub", "dependencies": [7]}]},
            {"id": 2, "title": "Two", "dependencies": [3]},
            {"id": 3, "title": "Three", "dependencies": [2]},
            {"id": 4, "title": "Four", "dependencies": 5},
        ]
    }
    text = json.dumps(data, indent=1)
    assert problems_of(text, "tasks.json") == [
        # A subtask's 7 is its sibling 1.7 if there is one, else task 7.
        (
            8,
            "1.1 depends on unknown task '7'",
            "no subtask 1.7 nor task 7: remove the dependency or run "
            "`task-master fix-dependencies`",
        ),
        (17, "dependency cycle: 2 → 3 → 2", "break it by removing one dependency"),
        (31, '"dependencies" of task 4 is not a list', 'write "dependencies": [...]'),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{\n  "tasks": [\n    {"id": 1,}\n  ]\n}',
            (3, "JSON: Expecting property name enclosed in double quotes", "fix the JSON syntax"),
        ),
        (
            '["not", "tasks"]',
            (
                1,
                "no task list found",
                'expected {"tasks": [...]} or {"master": {"tasks": [...]}}',
            ),
        ),
        ('{"tasks": []}', (0, "the plan has no tasks", 'add tasks to the "tasks" list')),
        (
            '{"tasks": [{"title": "no id"}]}',
            (0, "a task is not an object with an id", 'give it "id": 1'),
        ),
        ("[" * 100_000, (0, "JSON: nested too deeply", "is this the plan file?")),
    ],
    ids=["syntax", "no-task-list", "empty", "no-id", "deep-nesting"],
)
def test_tasks_json_structure_problems(text: str, expected: tuple[int, str, str]) -> None:
    assert problems_of(text, "tasks.json") == [expected]


# --- files ---------------------------------------------------------------------------------


def test_parse_plan_picks_the_format_from_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "PLAN.md").write_text(DESIGN_EXAMPLE, encoding="utf-8")
    (tmp_path / "plan.toml").write_text('[[task]]\nid = "A"\ntitle = "a"\n', encoding="utf-8")
    (tmp_path / "tasks.json").write_text('{"tasks": [{"id": 1, "title": "a"}]}', encoding="utf-8")
    assert [t.id for t in parse_plan(tmp_path / "PLAN.md").tasks] == ["T1", "T2"]
    assert parse_plan(tmp_path / "plan.toml").tasks[0].id == "A"
    assert parse_plan(tmp_path / "tasks.json").tasks[0].id == "1"
    assert parse_plan(tmp_path / "PLAN.md").source == str(tmp_path / "PLAN.md")


def test_parse_plan_reports_a_missing_file_or_a_directory(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as missing:
        parse_plan(tmp_path / "nope.md")
    assert missing.value.problems == [
        PlanProblem(str(tmp_path / "nope.md"), 0, "no such plan file", "create it or run `init`")
    ]
    with pytest.raises(PlanError) as directory:
        parse_plan(tmp_path)
    assert [(p.message, p.hint) for p in directory.value.problems] == [
        ("is a directory, not a plan file", "give PLAN.md, plan.toml or tasks.json")
    ]
    assert (
        str(missing.value)
        == f"{tmp_path / 'nope.md'}: no such plan file (hint: create it or run `init`)"
    )


# --- bad input -----------------------------------------------------------------------------

VALID = "# Plan: Valid\n\n## T1: One\ndepends: none\n\n## T2: Two\ndepends: T1\nfiles: a.py\n"


def test_an_empty_plan_and_a_plan_of_headings_have_no_tasks() -> None:
    empty = [(0, "the plan has no tasks", "add `## T1: Title` sections")]
    assert problems_of(b"") == empty
    assert problems_of("\n\n   \n") == empty
    assert (
        problems_of("# Plan: Only headings\n\n## Background\n\n### Details\n#### More\n") == empty
    )


def test_crlf_cr_and_a_bom_parse_like_plain_lf() -> None:
    plain = parse_plan_bytes(VALID.encode())
    for variant in (
        VALID.replace("\n", "\r\n").encode(),
        VALID.replace("\n", "\r").encode(),
        b"\xef\xbb\xbf" + VALID.replace("\n", "\r\n").encode(),
    ):
        plan = parse_plan_bytes(variant)
        assert plan.same_as(plain)
        assert [t.line for t in plan.tasks] == [3, 6]
        assert plan.title == "Valid"
    crlf_error = "# Plan\r\n\r\n## T1: One\r\ndepends: T9\r\n"
    assert problems_of(crlf_error.encode()) == [
        (3, "T1 depends on unknown task 'T9'", "no task has that ID")
    ]


def test_tabs_are_whitespace() -> None:
    text = (
        "#\tPlan:\tTabs\n\n##\tT1:\tTitle\twith tab\ndepends:\tnone\nfiles:\ta.py,\tb.py\n"
        "\tagent:\tcodex\n\n\tIndented description.\n"
    )
    (parsed,) = parse_plan_bytes(text.encode()).tasks
    assert (parsed.id, parsed.title, parsed.files, parsed.agent) == (
        "T1",
        "Title\twith tab",
        ("a.py", "b.py"),
        "codex",
    )
    assert parsed.description == "Indented description."
    # An indented key line is still a key line: its dependency is not lost.
    indented = "# Plan\n\n## T1: One\n\n## T2: Two\n  depends: T1\n"
    assert parse_plan_bytes(indented.encode()).task("T2").depends == ("T1",)


def test_binary_and_non_utf8_input_get_one_clear_error() -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"
    assert problems_of(png) == [
        (3, "NUL byte: this looks like a binary file", "a plan is UTF-8 text")
    ]
    assert problems_of(b"# Plan\n\n## T1: x\x00y\n") == [
        (3, "NUL byte: this looks like a binary file", "a plan is UTF-8 text")
    ]
    latin1 = "# Plan: Café\n\n## T1: Menu\n".encode("latin-1")
    assert problems_of(latin1) == [(1, "not UTF-8 (byte 0xe9)", "save as UTF-8")]
    assert problems_of(b"# Plan\n\n## T1: ok\n\xff\xfe\n", "plan.toml") == [
        (4, "not UTF-8 (byte 0xff)", "save as UTF-8")
    ]
    utf16 = VALID.encode("utf-16")
    assert problems_of(utf16)[0][1] == "NUL byte: this looks like a binary file"


def test_a_plan_over_the_size_limit_is_refused_without_parsing() -> None:
    assert problems_of(b"#" * (20 * 1024 * 1024 + 1)) == [
        (0, "plan is over the 20 MB limit", "is this the plan? split it if it is")
    ]


def test_a_five_megabyte_plan_parses() -> None:
    paragraph = "A line of description that goes on for a while, " * 3 + "\n"
    body = paragraph * (5_100_000 // len(paragraph))
    text = f"# Plan: Big\n\n## T1: Big\nestimate: 2h\n\n{body}\n## T2: After\ndepends: T1\n"
    assert len(text) > 5_000_000
    plan = parse_plan_bytes(text.encode())
    assert plan.task("T1").description == body.strip()
    assert plan.task("T2").line == text.count("\n") - 1


def test_ten_thousand_dependencies_on_one_task() -> None:
    tasks = "".join(f"## T{i}: Task {i}\n\n" for i in range(10_000))
    deps = ", ".join(f"T{i}" for i in range(10_000))
    plan = parse_plan_bytes(f"# Plan\n\n{tasks}## All: Last\ndepends: {deps}\n".encode())
    assert len(plan.task("All").depends) == 10_000
    assert waves(plan.tasks)[1] == ["All"]
    unknown = ", ".join(f"X{i}" for i in range(10_000))
    problems = problems_of(f"# Plan\n\n{tasks}## All: Last\ndepends: {unknown}\n")
    assert len(problems) == 10_000
    assert problems[0] == (20_003, "All depends on unknown task 'X0'", "no task has that ID")


def test_an_id_of_500_characters() -> None:
    long_id = "T" * 500
    text = f"# Plan\n\n## {long_id}: Long\n\n## T2: Two\ndepends: {long_id}\n"
    problems = problems_of(text)
    assert problems[0] == (3, "task ID is 500 characters long", "use at most 64")
    assert problems[1][0] == 5 and problems[1][1].startswith("T2 depends on unknown task 'TTT")
    assert len(problems) == 2


HANG_CHECK = """
import json, sys, time
from orchestrator_tui.core.plan import PlanError, parse_plan_bytes
cases = {
    "heading": b"## T1: a" + b" " * 5_000_000 + b"b\\n",
    "key": b"## T1: a\\nfiles: a.py" + b" " * 5_000_000 + b"b.py\\n",
    "depends": b"## T1: a\\n\\n## T2: b\\ndepends: T1" + b" " * 5_000_000 + b"x\\n",
    "spaces": b" " * 5_000_000,
    "one line": b"x" * 5_000_000,
    "hashes": b"## " + b"\\t" * 5_000_000 + b"x",
    "tabs": b"\\t" * 5_000_000 + b"\\n## T1: x\\n",
}
result = {}
for name, data in cases.items():
    start = time.perf_counter()
    try:
        plan = parse_plan_bytes(data)
        outcome = [len(t.title) for t in plan.tasks]
    except PlanError as exc:
        outcome = [p.line for p in exc.problems]
    result[name] = [outcome, time.perf_counter() - start]
print(json.dumps(result))
"""


def test_five_megabyte_lines_never_hang() -> None:
    """Run apart, so that a regression fails at the timeout instead of hanging the suite."""
    done = subprocess.run(
        [sys.executable, "-c", HANG_CHECK], capture_output=True, text=True, timeout=120, check=True
    )
    result = json.loads(done.stdout)
    outcomes = {name: outcome for name, (outcome, _seconds) in result.items()}
    assert outcomes == {
        "heading": [5_000_002],
        "key": [1],
        "depends": [3],
        "spaces": [0],
        "one line": [0],
        "hashes": [0],
        "tabs": [1],
    }
    slowest = max(seconds for _outcome, seconds in result.values())
    assert slowest < 20, result


# --- properties ----------------------------------------------------------------------------

# Building blocks that are cheap to draw, with the characters that could confuse a parser.
# (A lone `none` or `-` is not drawn as an ID or a file: in PLAN.md it means "no items".)
WORDS = ["build", "the", "API", "x:", "a,b", "[/b]", "(1)", "é", "*.py", "T1", "-", "#", "?"]
LINE = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
ID = st.builds(
    "{}{}".format,
    st.sampled_from(["T", "task-", "a.b_", "X", "1.", "_", "-", ".", "Ab"]),
    st.integers(0, 999),
)
FILE = st.builds(
    "{}{}".format,
    st.sampled_from(["src/", "./tests/", "docs/", "", "src/[ab]/", "a b/"]),
    st.sampled_from(["x.py", "*.py", "**", "y.md", "z"]),
)
DURATION = st.one_of(
    st.integers(min_value=1, max_value=10**6).map(float),
    st.floats(min_value=0.001, max_value=1e8, allow_nan=False, allow_infinity=False),
)


def text_block(lines: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Lines of prose (with blank lines and key-like lines inside), stripped as a whole."""
    return st.lists(
        st.one_of(lines, st.just(""), lines.map(lambda s: f"note: {s}"), st.just("### Sub")),
        max_size=5,
    ).map(lambda ls: "\n".join(ls).strip())


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    ids = draw(st.lists(ID, min_size=1, max_size=6, unique=True))
    tasks = []
    for i, task_id in enumerate(ids):
        tasks.append(
            Task(
                id=task_id,
                title=draw(LINE),
                depends=tuple(draw(st.lists(st.sampled_from(ids[:i]), max_size=3))) if i else (),
                files=tuple(draw(st.lists(FILE, max_size=3))),
                agent=draw(st.none() | st.sampled_from(["claude", "codex", "my-profile"])),
                run=draw(st.none() | LINE),
                timeout=draw(st.none() | DURATION),
                retries=draw(st.none() | st.integers(0, 100)),
                priority=draw(st.integers(-1000, 1000)),
                estimate=draw(st.none() | DURATION),
                description=draw(text_block(LINE)),
                done=draw(st.booleans()),
            )
        )
    return Plan(title=draw(st.just("") | LINE), goal=draw(text_block(LINE)), tasks=tuple(tasks))


@settings(max_examples=80, deadline=None)
@given(plans())
def test_parse_of_render_is_the_same_plan(plan: Plan) -> None:
    rendered = render_plan(plan)
    parsed = parse_markdown(rendered)
    assert parsed.same_as(plan), rendered
    # Rendering is stable: the parsed plan renders to the same text.
    assert render_plan(parsed) == rendered


MARKDOWN_BITS = [
    "## ", "# ", "T1", "T2", ": ", "depends", "files", "timeout", "none", ", ", "20m", "x",
    "```", "~~~", "\t", " ", "\n", "\n", "\n", "\r\n", "é", "status", "done", "##", "-",
]  # fmt: skip


@PROPERTY
@given(st.lists(st.sampled_from(MARKDOWN_BITS), max_size=60).map("".join))
def test_any_markdown_gives_a_plan_or_plan_problems(text: str) -> None:
    try:
        plan = parse_plan_bytes(text.encode())
    except PlanError as exc:
        lines = text.replace("\r\n", "\n").count("\n") + 1
        for problem in exc.problems:
            assert 0 <= problem.line <= lines
            assert problem.hint, problem
            assert "\n" not in str(problem)
    else:
        assert plan.tasks
        assert waves(plan.tasks)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 5) | st.sampled_from(["1", "x", "done", "1.2", ""]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["id", "title", "dependencies", "subtasks", "status", "priority"]),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
TASK_OBJECTS = st.fixed_dictionaries(
    {"id": st.integers(1, 4) | st.sampled_from(["a", "1", "none"])},
    optional={
        "title": JSON_VALUES,
        "dependencies": st.lists(st.integers(1, 5), max_size=3) | JSON_VALUES,
        "subtasks": st.lists(
            st.fixed_dictionaries(
                {"id": st.integers(1, 3)},
                optional={"dependencies": st.lists(st.integers(1, 3)) | JSON_VALUES},
            ),
            max_size=3,
        )
        | JSON_VALUES,
        "status": JSON_VALUES,
        "priority": JSON_VALUES,
        "details": JSON_VALUES,
    },
)


@PROPERTY
@given(
    st.one_of(
        st.lists(TASK_OBJECTS | JSON_VALUES, max_size=4).map(lambda ts: {"tasks": ts}),
        st.lists(TASK_OBJECTS, max_size=4).map(lambda ts: {"master": {"tasks": ts}}),
        JSON_VALUES,
    ),
    st.integers(0, 2),
)
def test_any_json_gives_a_plan_or_plan_problems(data: object, indent: int) -> None:
    text = json.dumps(data, indent=indent or None)
    try:
        parse_tasks_json(text)
    except PlanError as exc:
        assert all(p.hint and 0 <= p.line <= text.count("\n") + 1 for p in exc.problems)


TOML_SCALARS = (
    st.integers(-2, 200)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.booleans()
    | st.sampled_from(["20m", "T1", "none", "", "done", "x,y", "1h30m"])
)
TOML_KEYS = ["id", "title", "depends", "files", "timeout", "retries", "priority", "status"]
TOML_TASKS = st.dictionaries(
    st.sampled_from([*TOML_KEYS, "other"]),
    TOML_SCALARS | st.lists(TOML_SCALARS, max_size=3) | st.dictionaries(st.just("k"), TOML_SCALARS),
    max_size=6,
)  # fmt: skip


@PROPERTY
@given(
    st.fixed_dictionaries(
        {"task": st.lists(TOML_TASKS, max_size=4) | TOML_SCALARS},
        optional={"title": TOML_SCALARS, "goal": TOML_SCALARS, "extra": TOML_SCALARS},
    )
)
def test_any_toml_gives_a_plan_or_plan_problems(data: dict[str, object]) -> None:
    text = tomli_w.dumps(data)
    try:
        parse_toml(text)
    except PlanError as exc:
        assert all(p.hint and 0 <= p.line <= text.count("\n") + 1 for p in exc.problems)
