"""Task Master's tasks.json as its users have it (tests/fixtures/taskmaster): tags and
state.json, dotted subtask IDs, subtask dependencies on top-level tasks, every status,
and the problems a real file can have, each at its line with a hint that helps."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator_tui.core.models import TaskStatus
from orchestrator_tui.core.plan import PlanError, parse_plan, read_plan
from orchestrator_tui.core.state import task_state
from orchestrator_tui.core.taskmaster import read_tasks_json

FIXTURES = Path(__file__).parent / "fixtures" / "taskmaster"
MULTI_TAG = FIXTURES / "multi-tag" / ".taskmaster" / "tasks" / "tasks.json"
EMPTY_MASTER = FIXTURES / "empty-master" / ".taskmaster" / "tasks" / "tasks.json"
FIX = "remove the dependency or run `task-master fix-dependencies`"


def problems(path: Path, tag: str | None = None) -> list[tuple[int, str, str]]:
    with pytest.raises(PlanError) as caught:
        read_plan(path, tag)
    return [(p.line, p.message, p.hint) for p in caught.value.problems]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator_tui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


# --- IDs and dependencies ------------------------------------------------------------------


def test_a_subtask_dependency_is_its_sibling_if_there_is_one_else_the_top_level_task() -> None:
    plan = read_plan(FIXTURES / "dotted-subtasks" / "tasks.json")
    depends = {t.id: t.depends for t in plan.tasks}
    assert depends["4.1"] == ("2", "3")  # the parent's 2, then 3: no subtask 4.3, so task 3
    assert depends["4.2"] == ("2", "4.1")  # 1: the sibling 4.1
    assert depends["10.2"] == ("4", "10.1")  # the sibling's id is 10.1, its number 1


def test_dotted_subtask_ids_do_not_get_their_parent_twice() -> None:
    plan = read_plan(FIXTURES / "dotted-subtasks" / "tasks.json")
    ids = [t.id for t in plan.tasks]
    assert ids[:3] == ["1.1", "1.2", "1"]  # "1.1" under task 1 is 1.1, not 1.1.1
    assert ids[-3:] == ["10.1", "10.2", "10"]  # the number 10.1 is 10.1, not 10.10.1
    assert plan.tasks[1].depends == ("1.1",)


def test_a_json_number_id_keeps_its_digits() -> None:
    text = '{"tasks": [{"id": 1, "title": "a", "subtasks": [{"id": 1.10, "title": "b"}]}]}'
    assert [t.id for t in read_tasks_json(text).tasks] == ["1.10", "1"]


def test_string_and_numeric_ids_are_the_same_ids() -> None:
    plan = read_plan(FIXTURES / "legacy" / "tasks" / "tasks.json")
    assert plan.title == "Legacy shop"
    assert [(t.id, t.depends) for t in plan.tasks] == [
        ("1", ()),
        ("2.1", ("1",)),
        ("2.2", ("1", "2.1")),
        ("2", ("1", "2.1", "2.2")),
        ("3", ("2",)),
        ("4", ("3", "2.2")),
    ]


def test_an_unknown_numeric_dependency_gets_advice_not_a_lookalike() -> None:
    ids = [*range(1, 8), *range(10, 19), 45]
    tasks = [{"id": i, "title": f"t{i}", "dependencies": []} for i in ids]
    tasks.append({"id": 50, "title": "x", "dependencies": [8, 5, 44]})
    tasks.append({"id": 51, "title": "y", "subtasks": [{"id": 1, "dependencies": [9]}]})
    text = json.dumps({"tasks": tasks}, indent=2)
    with pytest.raises(PlanError) as caught:
        read_tasks_json(text)
    assert [(p.message, p.hint) for p in caught.value.problems] == [
        ("50 depends on unknown task '8'", f"no task 8: {FIX}"),
        ("50 depends on unknown task '44'", f"no task 44: {FIX}"),
        ("51.1 depends on unknown task '9'", f"no subtask 51.9 nor task 9: {FIX}"),
    ]


# --- statuses and priorities ---------------------------------------------------------------


def test_every_task_master_status_is_mapped() -> None:
    plan = read_plan(FIXTURES / "statuses" / "tasks.json")
    seen = {t.title: (t.done, t.skip, t.note) for t in plan.tasks}
    assert seen == {
        "Finished": (True, False, ""),
        "Finished the other way": (True, False, ""),  # completed
        "Dropped": (False, True, "cancelled"),
        "Later": (False, True, "deferred"),
        "Being done": (False, False, "in-progress"),
        "Awaiting review": (False, False, "review"),
        "Stuck": (False, False, "blocked"),
        "Not started": (False, False, ""),
    }


def test_cancelled_and_deferred_tasks_are_never_run_in_the_app() -> None:
    plan = parse_plan(FIXTURES / "statuses" / "tasks.json")
    status = {t.title: task_state(t).status for t in plan.tasks}
    assert status["Dropped"] == status["Later"] == TaskStatus.SKIPPED
    assert status["Finished the other way"] == TaskStatus.DONE
    assert status["Being done"] == TaskStatus.PENDING


def test_the_subtasks_of_a_done_or_cancelled_task_follow_it() -> None:
    data = {
        "tasks": [
            {"id": 1, "status": "done", "subtasks": [{"id": 1, "status": "pending"}]},
            {"id": 2, "status": "cancelled", "subtasks": [{"id": 1}, {"id": 2, "status": "done"}]},
        ]
    }
    plan = read_tasks_json(json.dumps(data))
    assert [(t.id, t.done, t.skip) for t in plan.tasks] == [
        ("1.1", True, False),
        ("1", True, False),
        ("2.1", False, True),
        ("2.2", True, False),
        ("2", False, True),
    ]


def test_critical_priority_ranks_above_high() -> None:
    data = {"tasks": [{"id": i, "priority": p} for i, p in enumerate(PRIORITIES, start=1)]}
    plan = read_tasks_json(json.dumps(data))
    assert [t.priority for t in plan.tasks] == [3, 2, 1, 0, 1]


PRIORITIES = ["critical", "high", "medium", "low", "whatever"]


# --- tags ----------------------------------------------------------------------------------


def test_the_current_tag_of_state_json_is_read_and_named() -> None:
    plan = read_plan(MULTI_TAG)
    assert [t.id for t in plan.tasks][:2] == ["1", "2.1"]
    assert len(plan.tasks) == 9  # feature-auth, not master's three
    state = MULTI_TAG.parent.parent / "state.json"
    assert plan.notes == (
        f"read tag 'feature-auth' (the current tag in {state}); other tags: master",
    )
    # The lines are those of the tag read, not those of master's tasks with the same ids.
    text = MULTI_TAG.read_text()
    first = plan.tasks[0]
    first_id = text.index('"id": 1', text.index('"feature-auth"'))
    assert first.line == text.count("\n", 0, first_id) + 1 == 51


def test_a_tag_can_be_asked_for() -> None:
    plan = read_plan(MULTI_TAG, tag="master")
    assert [t.title for t in plan.tasks] == [
        "Set up the repository",
        "Add a CI pipeline",
        "Write the README",
    ]
    assert plan.notes[0].startswith("read tag 'master' (asked for)")
    assert plan.tasks[0].line == 5


def test_an_unknown_tag_lists_the_tags_there_are() -> None:
    assert problems(MULTI_TAG, "nope") == [
        (
            1,
            "no tag 'nope' in this tasks.json (asked for)",
            "tags in this file: master (3 tasks), feature-auth (5 tasks)",
        )
    ]


def test_an_empty_current_tag_points_to_the_tags_with_tasks() -> None:
    state = EMPTY_MASTER.parent.parent / "state.json"
    assert problems(EMPTY_MASTER) == [
        (
            2,
            f"tag 'master' (the current tag in {state}) has no tasks",
            "tags with tasks: v2-api (2 tasks), mobile (1 task); choose one with --tag or "
            "[run] taskmaster_tag, or `task-master use-tag NAME`",
        )
    ]
    assert [t.id for t in read_plan(EMPTY_MASTER, "v2-api").tasks] == ["1", "2"]


def test_without_state_json_master_is_read(tmp_path: Path) -> None:
    target = tmp_path / "tasks.json"
    shutil.copy(MULTI_TAG, target)
    plan = read_plan(target)
    assert len(plan.tasks) == 3
    assert plan.notes == ("read tag 'master' (the default tag); other tags: feature-auth",)


def test_a_legacy_file_has_no_tags() -> None:
    legacy = FIXTURES / "legacy" / "tasks" / "tasks.json"
    assert read_plan(legacy).notes == ()
    assert problems(legacy, "feature") == [
        (
            1,
            "no tag 'feature': this tasks.json has no tags (the legacy format)",
            "leave out the tag, or `task-master migrate` to the tagged format",
        )
    ]


def test_plan_check_takes_a_tag_and_says_which_it_read(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "multi-tag", tmp_path / "repo")
    plan = ".taskmaster/tasks/tasks.json"
    result = run_cli("plan", "check", plan, cwd=tmp_path / "repo")
    assert result.returncode == 0, result.stderr
    assert "read tag 'feature-auth' (the current tag in .taskmaster/state.json)" in result.stdout
    assert "9 tasks" in result.stdout
    result = run_cli("plan", "check", "--tag", "master", "--json", plan, cwd=tmp_path / "repo")
    data = json.loads(result.stdout)
    assert [t["id"] for t in data["tasks"]] == ["1", "2", "3"]
    assert data["first"] == ["3"]  # 1 and 2 are done: they do not run first, or at all
    assert data["notes"] == ["read tag 'master' (asked for); other tags: feature-auth"]
    # [run] taskmaster_tag in the workspace's config, when no --tag is given.
    config = tmp_path / "repo" / ".orchestrator" / "config.toml"
    config.parent.mkdir()
    config.write_text('[run]\ntaskmaster_tag = "master"\n', encoding="utf-8")
    result = run_cli("plan", "check", "--json", plan, cwd=tmp_path / "repo")
    assert [t["id"] for t in json.loads(result.stdout)["tasks"]] == ["1", "2", "3"]


def test_plan_check_shows_the_status_of_tasks_that_are_not_plain_pending(
    tmp_path: Path,
) -> None:
    result = run_cli("plan", "check", str(FIXTURES / "statuses" / "tasks.json"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for shown in ("(cancelled: not run)", "(deferred: not run)", "(in-progress)", "(review)"):
        assert shown in result.stdout
    assert "first to run: 5, 6, 7, 8" in result.stdout


# --- broken files --------------------------------------------------------------------------


def test_a_merge_conflict_is_named_at_its_line() -> None:
    assert problems(FIXTURES / "merge-conflict" / "tasks.json") == [
        (
            10,
            "an unresolved merge conflict (<<<<<<<)",
            "resolve the conflict (keep one side of each <<<<<<< ... >>>>>>> block), "
            "then `task-master validate-dependencies`",
        )
    ]


@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_file_says_it_is_empty(tmp_path: Path, content: str) -> None:
    (tmp_path / "tasks.json").write_text(content, encoding="utf-8")
    assert problems(tmp_path / "tasks.json") == [
        (0, "the file is empty", "run `task-master parse-prd`, or give another plan")
    ]


def test_string_subtasks_are_reported_at_their_own_lines() -> None:
    hint = 'write it as {"id": 1, "title": "..."}'
    assert problems(FIXTURES / "string-subtasks" / "tasks.json") == [
        (12, "subtask 1 of task 1 has no id: 'Hero section' is a string, not an object", hint),
        (13, "subtask 2 of task 1 has no id: 'Pricing table' is a string, not an object", hint),
    ]


# --- a large file --------------------------------------------------------------------------


def large_tasks_json(count: int, seed: int = 5) -> str:
    """A tagged tasks.json shaped like Task Master writes it: every task with 0–4
    subtasks, dependencies on earlier tasks and on siblings, statuses of every kind."""
    rng = random.Random(seed)
    statuses = ["pending"] * 6 + ["done", "completed", "in-progress", "review", "deferred"]
    tasks = []
    for i in range(1, count + 1):
        subtasks = [
            {
                "id": s,
                "title": f"Step {s} of {i}",
                "description": "A step.",
                "dependencies": [s - 1] if s > 1 else [],
                "details": "",
                "status": "pending",
            }
            for s in range(1, rng.randint(0, 4) + 1)
        ]
        deps = (
            sorted({rng.randint(max(1, i - 30), i - 1) for _ in range(rng.randint(0, 2))})
            if i > 1
            else []
        )
        tasks.append(
            {
                "id": i,
                "title": f"Task {i}",
                "description": f"Build part {i}.",
                "details": "Details.",
                "testStrategy": "Tests pass.",
                "priority": rng.choice(["high", "medium", "low"]),
                "dependencies": deps,
                "status": rng.choice(statuses),
                "subtasks": subtasks,
            }
        )
    return json.dumps({"master": {"tasks": tasks, "metadata": {}}}, indent=2)


def test_a_thousand_task_file_reads_quickly_with_every_line_right() -> None:
    text = large_tasks_json(1500)
    start = time.process_time()  # CPU time: the machine may be busy with other work
    plan = read_tasks_json(text)
    elapsed = time.process_time() - start
    lines = text.split("\n")
    top = [t for t in plan.tasks if "." not in t.id]
    assert len(top) == 1500
    for task in plan.tasks:
        own = task.id.rsplit(".", 1)[-1]
        assert lines[task.line - 1].strip() == f'"id": {own},'
    assert elapsed < 1.5  # about 0.1 s; finding each line by counting from the start took 8
