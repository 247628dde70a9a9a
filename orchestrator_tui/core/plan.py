"""parse_plan: PLAN.md, plan.toml or Task Master's tasks.json → a validated Plan.

Every problem of a plan is collected and reported at once, each with its file, line and
a hint; the parser never raises anything but PlanError on bad input.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
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
KNOWN_KEYS = frozenset(TASK_KEYS)
ID_PATTERN = re.compile(r"[A-Za-z0-9_.\-]+")
# Both are matched against right-stripped lines: a lazy group before `\s*$` backtracks
# quadratically on a long run of spaces.
TASK_HEADING = re.compile(r"^##\s+(\S[^:]*):\s*(.*)$")
# Key lines may be indented (by spaces or tabs); an indented `depends:` must not
# silently become description.
KEY_LINE = re.compile(r"^\s*([A-Za-z][\w\-]*)\s*:\s*(.*)$")
DURATION = re.compile(
    r"^(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m)?\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?$"
)
FENCE = re.compile(r"^\s*(```|~~~)")
NO_DEPENDENCIES = ("none", "-", "")
# The lines that can change how the lines after them are read: `##` headings and fences.
SPECIAL_LINE = re.compile(r"^(?:##|[^\S\n]*(?:```|~~~))", re.M)
PLAN_TITLE = re.compile(r"^#\s+(plan\s*:\s*)?", re.I)  # `# Plan: title`, or `#<tab>title`
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
        # Read one byte past the limit, so that /dev/zero or a huge file cannot hang us.
        with path.open("rb") as stream:
            data = stream.read(MAX_PLAN_BYTES + 1)
    except FileNotFoundError:
        raise PlanError(
            [PlanProblem(name, 0, "no such plan file", "create it or run `init`")]
        ) from None
    except IsADirectoryError:
        raise PlanError(
            [
                PlanProblem(
                    name,
                    0,
                    "is a directory, not a plan file",
                    "give PLAN.md, plan.toml or tasks.json",
                )
            ]
        ) from None
    except OSError as exc:
        raise PlanError(
            [PlanProblem(name, 0, f"cannot read: {exc.strerror or exc}", "check the path")]
        ) from None
    return parse_plan_bytes(data, name)


def parse_plan_bytes(data: bytes, name: str = "PLAN.md") -> Plan:
    """Validate raw plan bytes; `name` picks the format (.toml, .json, else Markdown)."""
    from .plan_formats import parse_tasks_json, parse_toml  # they build on this module

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
        raise PlanError(
            [
                PlanProblem(
                    name, 0, "plan is over the 20 MB limit", "is this the plan? split it if it is"
                )
            ]
        )
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise PlanError(
            [
                PlanProblem(
                    name, line, "NUL byte: this looks like a binary file", "a plan is UTF-8 text"
                )
            ]
        )
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
        raise ValueError(f"bad duration {value!r}; {DURATION_FORMS}")
    parts = match.groupdict()
    seconds = sum(float(parts[k] or 0) * f for k, f in (("h", 3600), ("m", 60), ("s", 1)))
    if not math.isfinite(seconds):
        raise ValueError(f"duration {value!r} is too long")
    if seconds <= 0:
        raise ValueError(f"duration {value!r} must be more than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """Seconds → the shortest of '45s', '20m', '1h30m' that reads back the same."""
    # Decimal of the float's repr: exact arithmetic, every digit kept, never an exponent.
    exact = Decimal(repr(float(seconds)))
    hours, rest = divmod(exact, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours:f}h" if hours else "") + (f"{minutes:f}m" if minutes else "")
    if secs or not text:
        text += f"{secs.normalize():f}s"
    if parse_duration(text) != seconds:  # float rounding in h*3600 + m*60 + s
        text = f"{exact.normalize():f}s"
    return text


def split_list(value: str) -> tuple[str, ...]:
    items = [*map(str.strip, value.split(","))]
    if len(items) == 1 and items[0].lower() in NO_DEPENDENCIES:
        return ()
    return tuple(filter(None, items))


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

    def unknown_key(self, key: str, line: int, markdown: bool = True) -> None:
        known = TASK_KEYS if markdown else ("id", "title", "description", *TASK_KEYS)
        close = difflib.get_close_matches(key.lower(), known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"known keys: {', '.join(known)}"
        if not close and markdown:
            hint += "; put a blank line before the description"
        self.problem(line, f"unknown key {key[:40]!r}", hint)


def build_task(
    task_id: str, title: str, fields: dict[str, Any], description: str, line: int
) -> Task:
    values = dict(fields)
    values["done"] = values.pop("status", False)
    return Task(id=task_id, title=title, description=description, line=line, **values)


def empty_plan_hint(file: str) -> str:
    if file.endswith(".toml"):
        return "add [[task]] tables"
    if file.endswith(".json"):
        return 'add tasks to the "tasks" list'
    return "add `## T1: Title` sections"


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
        problems.append(PlanProblem(file, 0, "the plan has no tasks", empty_plan_hint(file)))
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
    """The PLAN.md format: `# Plan: title`, free text, then `## ID: title` task sections.

    Read as if line by line, but only the lines that can change the reading (`##` lines
    and code fences) are looked at one by one; the text between them is taken a section
    at a time, which keeps plans of 100,000 tasks fast.
    """
    problems: list[PlanProblem] = []
    check = TaskFields(file, problems)
    lines = text.split("\n")
    headings: list[tuple[int, re.Match[str]]] = []  # (line index, match), outside fences
    strays: list[int] = []  # `## ` lines in tasks that are not task headings
    in_fence, fence_line = False, 0
    index, counted = 0, 0
    for special in SPECIAL_LINE.finditer(text):
        index += text.count("\n", counted, special.start())
        counted = special.start()
        line = lines[index]
        if FENCE.match(line):
            in_fence, fence_line = not in_fence, index + 1
        if in_fence:
            continue
        heading = TASK_HEADING.match(line.rstrip())
        if heading:
            headings.append((index, heading))
        elif headings and line.startswith("## "):
            strays.append(index)

    first = headings[0][0] if headings else len(lines)
    title, index = "", 0
    while index < first and not title and PLAN_TITLE.match(lines[index]):
        title = PLAN_TITLE.sub("", lines[index]).strip()
        index += 1
    goal = "\n".join(lines[index:first]).strip()

    tasks: list[Task] = []
    next_stray = 0
    ends = [start for start, _ in headings[1:]] + [len(lines)] * bool(headings)
    for (start, heading), end in zip(headings, ends, strict=True):
        number = start + 1
        task_id, task_title = heading.group(1).rstrip(), heading.group(2)
        valid = check.check_id(task_id, number)
        if valid and not task_title:
            check.problem(number, f"task {task_id} has no title", f"write `## {task_id}: Title`")
        # Key lines right under the heading (blank lines before the first are skipped).
        fields: dict[str, Any] = {}
        index = start + 1
        while index < end:
            line = lines[index]
            if not fields and not line.strip():
                index += 1
                continue
            key_line = None if line.startswith("## ") else KEY_LINE.match(line.rstrip())
            if not key_line:
                break
            key = key_line.group(1).lower()
            if key not in KNOWN_KEYS:
                check.unknown_key(key_line.group(1), index + 1)
            elif key in fields:
                check.problem(
                    index + 1, f"{key} given twice for task {task_id}", "keep one of them"
                )
            elif converted := check.convert(key, key_line.group(2), index + 1):
                fields[converted[0]] = converted[1]
            index += 1
        # The rest is the description, less the stray `## ` lines (each a problem).
        skipped = []
        while next_stray < len(strays) and strays[next_stray] < end:
            skipped.append(strays[next_stray])
            check.problem(
                strays[next_stray] + 1,
                f"not a task heading: {lines[strays[next_stray]][:60]!r}",
                "task headings are `## ID: Title`",
            )
            next_stray += 1
        if not valid:
            continue
        body = lines[index:end]
        if skipped:
            body = [line for i, line in enumerate(body, start=index) if i not in skipped]
        description = "\n".join(body).strip()
        tasks.append(build_task(task_id, task_title, fields, description, number))
    if in_fence:
        problems.append(
            PlanProblem(
                file,
                fence_line,
                "this code fence is never closed",
                "close it with another ``` or ~~~ line",
            )
        )
    return finish(file, title, goal, tasks, problems)


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
