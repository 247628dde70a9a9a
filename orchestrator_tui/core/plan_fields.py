"""What every plan format shares: problems, the light task records the parsers build, the
checks of one task's values, and `finish`, which checks the whole plan.

Nothing here imports pydantic: `plan check` parses, validates and schedules on these
records, and the app turns them into models.Plan (core/plan.py, `to_plan`).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from .graph import check_graph

if TYPE_CHECKING:
    from .models import Plan

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
KNOWN_KEYS = frozenset(TASK_KEYS)
ID_PATTERN = re.compile(r"[A-Za-z0-9_.\-]+")
DURATION = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?$"
)
WHOLE_NUMBER = re.compile(r"-?\d+")
NO_DEPENDENCIES = ("none", "-", "")
DURATION_FORMS = "use forms like 45s, 20m, 1h30m"
KEY_HINTS = {
    "depends": "list task IDs separated by commas, or none",
    "files": "list paths or globs separated by commas",
    "agent": "name a backend or profile, e.g. claude",
    "run": "give the command for the shell backend",
    "timeout": DURATION_FORMS,
    "estimate": DURATION_FORMS,
    "retries": "a whole number from 0 to 100",
    "priority": "a whole number; among ready tasks the higher runs first",
    "status": "use pending or done",
}


class PlanProblem(NamedTuple):
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


class TaskRecord(NamedTuple):
    """One task as a parser reads it: the fields of models.Task, without pydantic."""

    id: str
    title: str
    depends: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    agent: str | None = None
    run: str | None = None
    timeout: float | None = None
    retries: int | None = None
    priority: int = 0
    estimate: float | None = None
    description: str = ""
    done: bool = False
    line: int = 0
    skip: bool = False
    note: str = ""


class PlanRecord(NamedTuple):
    """A validated plan as records; `notes` say how it was read (e.g. which tag)."""

    title: str
    goal: str
    tasks: tuple[TaskRecord, ...]
    source: str
    notes: tuple[str, ...] = ()


def parse_duration(value: str) -> float:
    """'90s', '20m', '1h30m' → seconds. Raises ValueError with the accepted forms."""
    text = value.strip().lower()
    match = DURATION.match(text)
    if not text or not match or not any(match.groupdict().values()):
        raise ValueError(f"bad duration {value!r}; {DURATION_FORMS}")
    hours, minutes, secs = match.groups()
    seconds = (
        float(hours or 0) * 3600 + float(minutes or 0) * 60 + float(secs or 0)
        if hours or minutes
        else float(secs)
    )
    if not math.isfinite(seconds):
        raise ValueError(f"duration {value!r} is too long")
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be more than zero")
    return seconds


def split_list(value: str) -> tuple[str, ...]:
    if "," not in value:
        item = value.strip()
        return () if item.lower() in NO_DEPENDENCIES else (item,)
    return tuple(filter(None, map(str.strip, value.split(","))))


class TaskFields:
    """Checks one task's key values and collects problems instead of raising."""

    def __init__(self, file: str, problems: list[PlanProblem]) -> None:
        self.file = file
        self.problems = problems
        self.durations: dict[str, float] = {}  # plans repeat a few estimates many times

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
        if task_id.lower() in NO_DEPENDENCIES:
            # `depends: none` could not name this task.
            self.problem(
                line, f"{task_id!r} cannot be a task ID", "`depends: none` means no dependencies"
            )
            return False
        return True

    def convert(self, key: str, raw: Any, line: int) -> tuple[str, Any] | None:
        """One key's raw value (str, or a TOML value) → (field, value), or None."""
        try:
            if key in ("timeout", "estimate") and isinstance(raw, str):
                seconds = self.durations.get(raw)
                if seconds is None:
                    seconds = self.durations[raw] = parse_duration(raw)
                return key, seconds
            return key, self.convert_value(key, raw)
        except (TypeError, ValueError) as exc:
            hint = KEY_HINTS[key]
            self.problem(line, f"{key}: {str(exc).replace(f'; {hint}', '')}", hint)
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
                if not math.isfinite(raw):
                    raise ValueError(f"{raw} is not a duration")
                if raw <= 0:
                    raise ValueError("must be more than zero")
                return float(raw)
            if not isinstance(raw, str):
                raise TypeError("give a duration like 20m")
            return parse_duration(raw)
        if key in ("retries", "priority"):
            if isinstance(raw, str) and WHOLE_NUMBER.fullmatch(raw.strip()):
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

    def unknown_key(self, key: str, line: int, markdown: bool = True) -> None:
        known = TASK_KEYS if markdown else ("id", "title", "description", *TASK_KEYS)
        from difflib import get_close_matches  # only for a problem: not at start-up

        close = get_close_matches(key.lower(), known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(known)}"
        if not close and markdown:
            hint += "; put a blank line before the description"
        self.problem(line, f"unknown key {key[:40]!r}", hint)


def build_task(
    task_id: str, title: str, fields: dict[str, Any], description: str, line: int
) -> TaskRecord:
    done = fields.pop("status", False) if "status" in fields else False
    return TaskRecord(task_id, title, description=description, line=line, done=done, **fields)


def empty_plan_hint(file: str) -> str:
    if file.endswith(".toml"):
        return "add [[task]] tables"
    if file.endswith(".json"):
        return 'add tasks to the "tasks" list'
    return "add `## T1: Title` sections"


def finish(
    file: str,
    title: str,
    goal: str,
    tasks: list[TaskRecord],
    problems: list[PlanProblem],
    notes: tuple[str, ...] = (),
    unknown_hint: Any = None,
) -> PlanRecord:
    """Check the whole plan (duplicates, emptiness, graph) and raise every problem at once.

    `unknown_hint(task_id, dep)`, when given, words the hint of an unknown dependency
    (Task Master's numeric IDs want other advice than "did you mean").
    """
    lines: dict[str, int] = {}
    unique: list[TaskRecord] = []
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
        problems.append(PlanProblem(file, 0, "the plan has no tasks", empty_plan_hint(file)))
    checked = tuple(unique)  # the same tuple as the plan's: graph work done once is kept
    for graph_problem in check_graph(checked, suggest=unknown_hint is None):
        hint = graph_problem.hint
        if unknown_hint is not None and graph_problem.unknown:
            hint = unknown_hint(graph_problem.task_id, graph_problem.unknown)
        problems.append(
            PlanProblem(file, lines.get(graph_problem.task_id, 0), graph_problem.message, hint)
        )
    if problems:
        problems.sort(key=lambda p: p.line)
        raise PlanError(problems)
    return PlanRecord(title, goal, checked, file, notes)


def to_plan(record: PlanRecord) -> Plan:
    """Records → models.Plan (the values are checked already)."""
    from .models import Plan, Task

    tasks = tuple(Task(**task._asdict()) for task in record.tasks)
    return Plan(title=record.title, goal=record.goal, tasks=tasks, source=record.source)
