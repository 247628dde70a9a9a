"""The other plan formats: plan.toml (`[[task]]` tables) and Task Master's tasks.json.

Both produce the same Plan, with the same checks and errors, as PLAN.md (core/plan.py).
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from .models import Plan, Task
from .plan import TASK_KEYS, PlanError, PlanProblem, TaskFields, build_task, finish


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
    tasks = []
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


TASKMASTER_PRIORITY = {"high": 2, "medium": 1, "low": 0}
JSON_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\\n]|\\.)*"|[^\s,}\]]+)')


class JsonIdLines:
    """Finds the line of each task's `"id": ...` by walking the ids in document order.

    Searching the whole text for each id would be quadratic, and would give task 2 the
    line of the first `"id": 2`, which is often a subtask of task 1.
    """

    def __init__(self, text: str) -> None:
        self.found: list[tuple[str, int]] = []
        line, last = 1, 0
        for match in JSON_ID.finditer(text):
            line += text.count("\n", last, match.start())
            last = match.start()
            try:
                self.found.append((str(json.loads(match.group(1))), line))
            except ValueError:
                continue
        self.cursor = 0

    def next(self, task_id: str) -> int:
        """The line of the next `"id"` whose value is `task_id`; 0 when there is none."""
        for index in range(self.cursor, len(self.found)):
            if self.found[index][0] == task_id:
                self.cursor = index + 1
                return self.found[index][1]
        return 0


def json_list(
    raw: dict[str, Any], key: str, owner: str, line: int, problems: list[PlanProblem], file: str
) -> list[Any]:
    value = raw.get(key) or []
    if isinstance(value, list):
        return value
    problems.append(
        PlanProblem(file, line, f'"{key}" of {owner} is not a list', f'write "{key}": [...]')
    )
    return []


def parse_tasks_json(text: str, file: str = "tasks.json") -> Plan:
    """Task Master's tasks.json, tagged (`{"master": {"tasks": [...]}}`) or legacy."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(
            [PlanProblem(file, exc.lineno, f"JSON: {exc.msg}", "fix the JSON syntax")]
        ) from None
    except RecursionError:
        raise PlanError(
            [PlanProblem(file, 0, "JSON: nested too deeply", "is this the plan file?")]
        ) from None
    if isinstance(data, dict) and isinstance(data.get("tasks"), list):
        raw_tasks = data["tasks"]
    elif isinstance(data, dict) and data:
        tag = "master" if "master" in data else next(iter(data))
        raw_tasks = data[tag].get("tasks") if isinstance(data[tag], dict) else None
    else:
        raw_tasks = None
    if not isinstance(raw_tasks, list):
        raise PlanError(
            [
                PlanProblem(
                    file,
                    1,
                    "no task list found",
                    'expected {"tasks": [...]} or {"master": {"tasks": [...]}}',
                )
            ]
        )
    problems: list[PlanProblem] = []
    check = TaskFields(file, problems)
    tasks: list[Task] = []
    id_lines = JsonIdLines(text)
    for raw in raw_tasks:
        if not isinstance(raw, dict) or "id" not in raw:
            problems.append(
                PlanProblem(file, 0, "a task is not an object with an id", 'give it "id": 1')
            )
            continue
        parent_id = str(raw["id"])
        # The ids appear in the text in the order of the object's keys.
        line, sub_lines = 0, []
        for key in raw:
            if key == "id":
                line = id_lines.next(parent_id)
            elif key == "subtasks" and isinstance(raw[key], list):
                sub_lines = [
                    id_lines.next(str(sub["id"])) if isinstance(sub, dict) and "id" in sub else 0
                    for sub in raw[key]
                ]
        subtasks = json_list(raw, "subtasks", f"task {parent_id}", line, problems, file)
        parent_deps = tuple(
            str(d)
            for d in json_list(raw, "dependencies", f"task {parent_id}", line, problems, file)
        )
        sub_ids = []
        for sub, sub_line in zip(subtasks, sub_lines or [0] * len(subtasks), strict=True):
            if not isinstance(sub, dict) or "id" not in sub:
                problems.append(
                    PlanProblem(
                        file, line, f"a subtask of {parent_id} has no id", 'give it "id": 1'
                    )
                )
                continue
            sub_id = f"{parent_id}.{sub['id']}"
            sub_ids.append(sub_id)
            sub_deps = json_list(sub, "dependencies", f"subtask {sub_id}", sub_line, problems, file)
            deps = tuple(
                f"{parent_id}.{d}" if isinstance(d, int) or "." not in str(d) else str(d)
                for d in sub_deps
            )
            tasks.append(taskmaster_task(check, sub, sub_id, parent_deps + deps, sub_line or line))
        tasks.append(taskmaster_task(check, raw, parent_id, parent_deps + tuple(sub_ids), line))
    title = (
        data.get("meta", {}).get("projectName", "") if isinstance(data.get("meta"), dict) else ""
    )
    return finish(file, str(title), "", [t for t in tasks if t is not None], problems)


def taskmaster_task(
    check: TaskFields, raw: dict[str, Any], task_id: str, depends: tuple[str, ...], line: int
) -> Task | None:
    if not check.check_id(task_id, line):
        return None
    parts = [str(raw.get("description") or "").strip(), str(raw.get("details") or "").strip()]
    if raw.get("testStrategy"):
        parts.append(f"Test strategy: {str(raw['testStrategy']).strip()}")
    priority = raw.get("priority", "medium")
    return Task(
        id=task_id,
        title=str(raw.get("title") or task_id).strip(),
        depends=tuple(dict.fromkeys(depends)),
        priority=TASKMASTER_PRIORITY.get(str(priority).lower(), 1),
        description="\n\n".join(p for p in parts if p),
        done=str(raw.get("status", "")).lower() == "done",
        line=line,
    )
