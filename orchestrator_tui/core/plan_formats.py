"""plan.toml (`[[task]]` tables): the same plan, checks and errors as PLAN.md.

Task Master's tasks.json is read in core/taskmaster.py, other tools' plans in
core/foreign_plans.py.
"""

from __future__ import annotations

import re
import tomllib
from typing import TYPE_CHECKING, Any

from .plan_fields import (
    TASK_KEYS,
    PlanError,
    PlanProblem,
    PlanRecord,
    TaskFields,
    TaskRecord,
    build_task,
    finish,
    to_plan,
)

if TYPE_CHECKING:
    from .models import Plan

__all__ = ["find_line", "parse_tasks_json", "parse_toml", "read_toml"]


def parse_tasks_json(text: str, file: str = "tasks.json", tag: str | None = None) -> Plan:
    from .taskmaster import read_tasks_json

    return to_plan(read_tasks_json(text, file, tag))


def toml_error_line(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 0


def find_line(text: str, pattern: str) -> int:
    match = re.search(pattern, text, flags=re.M)
    return text.count("\n", 0, match.start()) + 1 if match else 0


TOML_TASK_TABLE = re.compile(r"^\s*\[\[\s*task\s*\]\]")
TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


def toml_task_lines(text: str) -> list[dict[str, int]]:
    """For each `[[task]]` table in order, the line of each of its keys ('' for the header).

    One pass over the text: searching for each task's `id = ...` would be quadratic, and
    would give two tasks with the same ID the same line.
    """
    tables: list[dict[str, int]] = []
    current: dict[str, int] | None = None
    for number, line in enumerate(text.split("\n"), start=1):
        if line.lstrip().startswith("["):
            current = {"": number} if TOML_TASK_TABLE.match(line) else None
            if current is not None:
                tables.append(current)
        elif current is not None and (key := TOML_KEY.match(line)):
            current.setdefault(key.group(1), number)
    return tables


def parse_toml(text: str, file: str = "plan.toml") -> Plan:
    """plan.toml: top-level `title` and `goal`, then `[[task]]` tables with the PLAN.md keys."""
    return to_plan(read_toml(text, file))


def read_toml(text: str, file: str = "plan.toml") -> PlanRecord:
    """`parse_toml`, as records."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(
            [PlanProblem(file, toml_error_line(str(exc)), f"TOML: {exc}", "fix the TOML syntax")]
        ) from None
    except RecursionError:
        raise PlanError(
            [PlanProblem(file, 0, "TOML: nested too deeply", "is this the plan file?")]
        ) from None
    problems: list[PlanProblem] = []
    check = TaskFields(file, problems)
    for key in data:
        if key not in ("title", "goal", "task"):
            check.problem(
                find_line(text, rf"^[ \t]*{re.escape(key)}[ \t]*="),
                f"unknown top-level key {key!r}",
                "use title, goal and [[task]] tables",
            )
    raw_tasks = data.get("task", [])
    if not isinstance(raw_tasks, list):
        raise PlanError(
            [
                PlanProblem(
                    file,
                    find_line(text, r"^[ \t]*\[task\]"),
                    "task is not a list of tables",
                    "use [[task]], not [task]",
                )
            ]
        )
    tables = toml_task_lines(text)
    if len(tables) != len(raw_tasks):  # e.g. `task = [{...}, ...]`: no [[task]] headers
        tables = []
    tasks: list[TaskRecord] = []
    for number, raw in enumerate(raw_tasks):
        key_lines = tables[number] if tables else {}
        if not isinstance(raw, dict):
            check.problem(
                find_line(text, r"^[ \t]*task[ \t]*="),
                "a task is not a table",
                "write [[task]] tables",
            )
            continue
        task_id = str(raw.get("id", "")).strip()
        line = key_lines.get("id", key_lines.get("", 0))
        if not line and task_id:
            line = find_line(
                text, rf"^[ \t]*id[ \t]*=[ \t]*[\"']?{re.escape(task_id)}[\"']?[ \t]*$"
            )
        if not task_id:
            check.problem(line, "a [[task]] has no id", 'add id = "T1"')
            continue
        if not check.check_id(task_id, line):
            continue
        fields: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ("id", "title", "description"):
                continue
            if key not in TASK_KEYS:
                check.unknown_key(key, key_lines.get(key, line), markdown=False)
            elif converted := check.convert(key, value, key_lines.get(key, line)):
                fields[converted[0]] = converted[1]
        title = str(raw.get("title", "")).strip()
        if not title:
            check.problem(line, f"task {task_id} has no title", 'add title = "..."')
        tasks.append(
            build_task(task_id, title, fields, str(raw.get("description", "")).strip(), line)
        )
    return finish(
        file, str(data.get("title", "")), str(data.get("goal", "")).strip(), tasks, problems
    )
