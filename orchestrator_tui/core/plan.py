"""parse_plan: PLAN.md, plan.toml or Task Master's tasks.json → a validated Plan.

Every problem of a plan is collected and reported at once, each with its file, line and
a hint; the parser never raises anything but PlanError on bad input.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .graph import check_graph
from .models import Plan, Task

MAX_PLAN_BYTES = 20 * 1024 * 1024
MAX_ID_LENGTH = 64
TASK_KEYS = (
    "depends",
    "files",
    "agent",
    "run",
    "timeout",
    "retries",
    "priority",
    "estimate",
    "status",
)
ID_PATTERN = re.compile(r"[A-Za-z0-9_.\-]+")
TASK_HEADING = re.compile(r"^##\s+(\S[^:]*?)\s*:\s*(.*?)\s*$")
KEY_LINE = re.compile(r"^([A-Za-z][\w\-]*)\s*:\s*(.*?)\s*$")
DURATION = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?$"
)
FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class PlanProblem:
    """One thing wrong with a plan, where it is, and how to fix it."""

    file: str
    line: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}" + (f" (hint: {self.hint})" if self.hint else "")


class PlanError(Exception):
    """The plan is invalid; `problems` lists every reason."""

    def __init__(self, problems: list[PlanProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def parse_plan(path: str | Path) -> Plan:
    """Read and validate a plan file; its format follows from the file name."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(
            [PlanProblem(name, 0, "no such plan file", "create it or run `init`")]
        ) from None
    except IsADirectoryError:
        raise PlanError([PlanProblem(name, 0, "is a directory, not a plan file")]) from None
    except OSError as exc:
        raise PlanError([PlanProblem(name, 0, f"cannot read: {exc.strerror or exc}")]) from None
    return parse_plan_bytes(data, name)


def parse_plan_bytes(data: bytes, name: str = "PLAN.md") -> Plan:
    """Validate raw plan bytes; `name` picks the format (.toml, .json, else Markdown)."""
    text = decode_plan(data, name)
    parser: Callable[[str, str], Plan]
    if name.endswith(".toml"):
        parser = parse_toml
    elif name.endswith(".json"):
        parser = parse_tasks_json
    else:
        parser = parse_markdown
    return parser(text, name)


def decode_plan(data: bytes, name: str) -> str:
    if len(data) > MAX_PLAN_BYTES:
        raise PlanError([PlanProblem(name, 0, f"plan is {len(data):,} bytes; the limit is 20 MB")])
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise PlanError([PlanProblem(name, line, "NUL byte: this looks like a binary file")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PlanError(
            [PlanProblem(name, line, f"not UTF-8 (byte 0x{data[exc.start]:02x})", "save as UTF-8")]
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_duration(value: str) -> float:
    """'90s', '20m', '1h30m' → seconds. Raises ValueError with the accepted forms."""
    text = value.strip().lower()
    match = DURATION.match(text)
    if not text or not match or not any(match.groupdict().values()):
        raise ValueError(f"bad duration {value!r}; use forms like 45s, 20m, 1h30m")
    parts = match.groupdict()
    seconds = sum(float(parts[k] or 0) * f for k, f in (("h", 3600), ("m", 60), ("s", 1)))
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be more than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds → the shortest of '45s', '20m', '1h30m' that reads back the same."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{int(hours)}h" if hours else "") + (f"{int(minutes)}m" if minutes else "")
    if secs or not text:
        text += f"{secs:g}s"
    return text


def split_list(value: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in value.split(","))
    if len(items) == 1 and items[0].lower() in ("none", "-", ""):
        return ()
    return tuple(item for item in items if item)


class TaskFields:
    """Checks one task's key values and collects problems instead of raising."""

    def __init__(self, file: str, problems: list[PlanProblem]) -> None:
        self.file = file
        self.problems = problems

    def problem(self, line: int, message: str, hint: str = "") -> None:
        self.problems.append(PlanProblem(self.file, line, message, hint))

    def check_id(self, task_id: str, line: int) -> bool:
        if len(task_id) > MAX_ID_LENGTH:
            self.problem(
                line,
                f"task ID is {len(task_id)} characters long",
                f"use at most {MAX_ID_LENGTH}",
            )
            return False
        if not ID_PATTERN.fullmatch(task_id):
            self.problem(
                line,
                f"bad task ID {task_id[:40]!r}",
                "IDs use letters, digits, '-', '_' and '.'",
            )
            return False
        return True

    def convert(self, key: str, raw: Any, line: int) -> tuple[str, Any] | None:
        """One key's raw value (str, or a TOML value) → (field, value), or None."""
        try:
            return key, self.convert_value(key, raw)
        except (TypeError, ValueError) as exc:
            self.problem(line, f"{key}: {exc}")
            return None

    @staticmethod
    def convert_value(key: str, raw: Any) -> Any:
        if key in ("depends", "files"):
            if isinstance(raw, list):
                return tuple(str(item).strip() for item in raw if str(item).strip())
            if not isinstance(raw, str):
                raise TypeError("give a comma-separated list")
            return split_list(raw)
        if key in ("timeout", "estimate"):
            if isinstance(raw, (int, float)) and not isinstance(raw, bool):
                if raw <= 0:
                    raise ValueError("must be more than zero")
                return float(raw)
            if not isinstance(raw, str):
                raise TypeError("give a duration like 20m")
            return parse_duration(raw)
        if key in ("retries", "priority"):
            if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
                raw = int(raw)
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise ValueError(f"{raw!r} is not a whole number")
            if key == "retries" and not 0 <= raw <= 100:
                raise ValueError(f"{raw} is out of range 0..100")
            return raw
        if key == "status":
            status = str(raw).strip().lower()
            if status not in ("pending", "done"):
                raise ValueError(f"{raw!r} is not 'pending' or 'done'")
            return status == "done"
        value = str(raw).strip()
        if not value:
            raise ValueError("is empty")
        return value

    def unknown_key(self, key: str, line: int) -> None:
        close = difflib.get_close_matches(key.lower(), TASK_KEYS, n=1)
        hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(TASK_KEYS)}"
        if not close:
            hint += "; put a blank line before the description"
        self.problem(line, f"unknown key {key!r}", hint)


def build_task(
    task_id: str, title: str, fields: dict[str, Any], description: str, line: int
) -> Task:
    values = dict(fields)
    values["done"] = values.pop("status", False)
    return Task(id=task_id, title=title, description=description, line=line, **values)


def finish(
    file: str, title: str, goal: str, tasks: list[Task], problems: list[PlanProblem]
) -> Plan:
    """Check the whole plan (duplicates, emptiness, graph) and raise every problem at once."""
    lines = {}
    unique: list[Task] = []
    for task in tasks:
        if task.id in lines:
            problems.append(
                PlanProblem(
                    file,
                    task.line,
                    f"duplicate task ID {task.id}",
                    f"first at line {lines[task.id]}",
                )
            )
        else:
            lines[task.id] = task.line
            unique.append(task)
    if not tasks and not problems:
        problems.append(
            PlanProblem(file, 0, "the plan has no tasks", "add `## T1: Title` sections")
        )
    for graph_problem in check_graph(unique):
        problems.append(
            PlanProblem(
                file, lines.get(graph_problem.task_id, 0), graph_problem.message, graph_problem.hint
            )
        )
    if problems:
        problems.sort(key=lambda p: p.line)
        raise PlanError(problems)
    return Plan(title=title, goal=goal, tasks=tuple(unique), source=file)


def parse_markdown(text: str, file: str = "PLAN.md") -> Plan:
    """The PLAN.md format: `# Plan: title`, free text, then `## ID: title` task sections."""
    problems: list[PlanProblem] = []
    check = TaskFields(file, problems)
    title, goal_lines, tasks = "", [], []
    current: dict[str, Any] | None = None
    in_fence = False

    def close_task() -> None:
        if current is None:
            return
        description = "\n".join(current["body"]).strip()
        if current["valid"]:
            tasks.append(
                build_task(
                    current["id"], current["title"], current["fields"], description, current["line"]
                )
            )

    for number, line in enumerate(text.split("\n"), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else TASK_HEADING.match(line)
        if heading:
            close_task()
            task_id, task_title = heading.group(1), heading.group(2)
            valid = check.check_id(task_id, number)
            if valid and not task_title:
                check.problem(
                    number, f"task {task_id} has no title", f"write `## {task_id}: Title`"
                )
            current = {
                "id": task_id,
                "title": task_title,
                "fields": {},
                "body": [],
                "line": number,
                "valid": valid,
                "keys_open": True,
            }
            continue
        if current is None:
            if not in_fence and not title and not goal_lines and line.startswith("# "):
                title = re.sub(r"^#\s+(plan\s*:\s*)?", "", line, flags=re.I).strip()
            else:
                goal_lines.append(line)
            continue
        if not in_fence and line.startswith("## "):
            check.problem(
                number, f"not a task heading: {line[:60]!r}", "task headings are `## ID: Title`"
            )
            current["keys_open"] = False
            continue
        if current["keys_open"]:
            if not line.strip() and not current["fields"]:
                continue
            key_line = KEY_LINE.match(line) if not in_fence else None
            if key_line:
                key = key_line.group(1).lower()
                if key not in TASK_KEYS:
                    check.unknown_key(key_line.group(1), number)
                elif key in current["fields"]:
                    check.problem(number, f"{key} given twice for task {current['id']}")
                else:
                    converted = check.convert(key, key_line.group(2), number)
                    if converted:
                        current["fields"][converted[0]] = converted[1]
                continue
            current["keys_open"] = False
        current["body"].append(line)
    close_task()
    if in_fence:
        problems.append(PlanProblem(file, 0, "a ``` code fence is never closed"))
    return finish(file, title, "\n".join(goal_lines).strip(), tasks, problems)


def toml_error_line(message: str) -> int:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else 0


def find_line(text: str, pattern: str) -> int:
    match = re.search(pattern, text, flags=re.M)
    return text.count("\n", 0, match.start()) + 1 if match else 0


def parse_toml(text: str, file: str = "plan.toml") -> Plan:
    """plan.toml: top-level `title` and `goal`, then `[[task]]` tables with the PLAN.md keys."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError([PlanProblem(file, toml_error_line(str(exc)), f"TOML: {exc}")]) from None
    problems: list[PlanProblem] = []
    check = TaskFields(file, problems)
    for key in data:
        if key not in ("title", "goal", "task"):
            check.problem(
                find_line(text, rf"^\s*{re.escape(key)}\s*="),
                f"unknown top-level key {key!r}",
                "use title, goal and [[task]] tables",
            )
    raw_tasks = data.get("task", [])
    if not isinstance(raw_tasks, list):
        raise PlanError(
            [PlanProblem(file, find_line(text, r"^\s*\[task\]"), "use [[task]], not [task]")]
        )
    tasks = []
    for raw in raw_tasks:
        task_id = str(raw.get("id", "")).strip()
        line = (
            find_line(text, rf"^\s*id\s*=\s*[\"']?{re.escape(task_id)}[\"']?\s*$") if task_id else 0
        )
        if not task_id:
            check.problem(line, "a [[task]] has no id")
            continue
        if not check.check_id(task_id, line):
            continue
        fields: dict[str, Any] = {}
        for key, value in raw.items():
            if key in ("id", "title", "description"):
                continue
            if key not in TASK_KEYS:
                check.unknown_key(key, line)
            elif converted := check.convert(key, value, line):
                fields[converted[0]] = converted[1]
        title = str(raw.get("title", "")).strip()
        if not title:
            check.problem(line, f"task {task_id} has no title")
        tasks.append(
            build_task(task_id, title, fields, str(raw.get("description", "")).strip(), line)
        )
    return finish(
        file, str(data.get("title", "")), str(data.get("goal", "")).strip(), tasks, problems
    )


TASKMASTER_PRIORITY = {"high": 2, "medium": 1, "low": 0}


def parse_tasks_json(text: str, file: str = "tasks.json") -> Plan:
    """Task Master's tasks.json, tagged (`{"master": {"tasks": [...]}}`) or legacy."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError([PlanProblem(file, exc.lineno, f"JSON: {exc.msg}")]) from None
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
    for raw in raw_tasks:
        if not isinstance(raw, dict) or "id" not in raw:
            problems.append(PlanProblem(file, 0, "a task is not an object with an id"))
            continue
        parent_id = str(raw["id"])
        line = find_line(text, rf"\"id\"\s*:\s*\"?{re.escape(parent_id)}\"?\s*[,}}]")
        parent_deps = tuple(str(d) for d in raw.get("dependencies", []) or [])
        sub_ids = []
        for sub in raw.get("subtasks", []) or []:
            if not isinstance(sub, dict) or "id" not in sub:
                problems.append(PlanProblem(file, line, f"a subtask of {parent_id} has no id"))
                continue
            sub_id = f"{parent_id}.{sub['id']}"
            sub_ids.append(sub_id)
            deps = tuple(
                f"{parent_id}.{d}" if isinstance(d, int) or "." not in str(d) else str(d)
                for d in sub.get("dependencies", []) or []
            )
            tasks.append(taskmaster_task(check, sub, sub_id, parent_deps + deps, line))
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


def render_plan(plan: Plan) -> str:
    """A Plan as PLAN.md text; parse_markdown(render_plan(p)) is the same plan."""
    out = [f"# Plan: {plan.title}".rstrip(), ""]
    if plan.goal:
        out += [plan.goal, ""]
    for task in plan.tasks:
        out.append(f"## {task.id}: {task.title}")
        out.append(f"depends: {', '.join(task.depends) if task.depends else 'none'}")
        if task.files:
            out.append(f"files: {', '.join(task.files)}")
        for key in ("agent", "run"):
            if getattr(task, key):
                out.append(f"{key}: {getattr(task, key)}")
        for key in ("timeout", "estimate"):
            if getattr(task, key):
                out.append(f"{key}: {format_duration(getattr(task, key))}")
        if task.retries is not None:
            out.append(f"retries: {task.retries}")
        if task.priority:
            out.append(f"priority: {task.priority}")
        if task.done:
            out.append("status: done")
        out.append("")
        if task.description:
            out += [task.description, ""]
    return "\n".join(out)
