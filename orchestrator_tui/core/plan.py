"""parse_plan: PLAN.md, plan.toml or Task Master's tasks.json → a validated Plan.

Every problem of a plan is collected and reported at once, each with its file, line and
a hint; the parser never raises anything but PlanError on bad input. The parsers build
light records (core/plan_fields.py); `parse_plan` turns them into models.Plan, while
`plan check` works on the records and never imports pydantic.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .plan_fields import (
    DURATION_FORMS,
    ID_PATTERN,
    KEY_HINTS,
    KNOWN_KEYS,
    MAX_ID_LENGTH,
    NO_DEPENDENCIES,
    TASK_KEYS,
    PlanError,
    PlanProblem,
    PlanRecord,
    TaskFields,
    TaskRecord,
    build_task,
    finish,
    parse_duration,
    split_list,
    to_plan,
)

if TYPE_CHECKING:
    from .models import Plan

__all__ = [
    "DURATION_FORMS",
    "ID_PATTERN",
    "KEY_HINTS",
    "KNOWN_KEYS",
    "MAX_ID_LENGTH",
    "NO_DEPENDENCIES",
    "TASK_KEYS",
    "PlanError",
    "PlanProblem",
    "PlanRecord",
    "TaskFields",
    "TaskRecord",
    "build_task",
    "finish",
    "format_duration",
    "parse_duration",
    "parse_markdown",
    "parse_plan",
    "parse_plan_bytes",
    "read_plan",
    "render_plan",
    "split_list",
    "to_plan",
]

MAX_PLAN_BYTES = 20 * 1024 * 1024
# Both are matched against right-stripped lines: a lazy group before `\s*$` backtracks
# quadratically on a long run of spaces.
TASK_HEADING = re.compile(r"^##\s+(\S[^:]*):\s*(.*)$")
# `### T6: Title`: one `#` too many, most likely a task heading all the same.
DEEP_HEADING = re.compile(r"^#{3,6}[ \t]+([A-Za-z0-9_.\-]*\d[A-Za-z0-9_.\-]*)[ \t]*:")
# Key lines may be indented (by spaces or tabs); an indented `depends:` must not
# silently become description.
KEY_LINE = re.compile(r"^\s*([A-Za-z][\w\-]*)\s*:\s*(.*)$")
FENCE = re.compile(r"^\s*(```|~~~)")
# The lines that can change how the lines after them are read: `##` headings and fences.
SPECIAL_LINE = re.compile(r"^(?:##|[^\S\n]*(?:```|~~~))", re.M)
PLAN_TITLE = re.compile(r"^#\s+(plan\s*:\s*)?", re.I)  # `# Plan: title`, or `#<tab>title`


def parse_plan(path: str | Path, tag: str | None = None) -> Plan:
    """Read and validate a plan file; its format follows from the file name.

    `tag`: the Task Master tag to read from a tasks.json (default: its current tag).
    """
    return to_plan(read_plan(path, tag))


def read_plan(path: str | Path, tag: str | None = None) -> PlanRecord:
    """`parse_plan`, as records."""
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
    if name.endswith(".json"):
        from .taskmaster import read_tasks_json_file

        return read_tasks_json_file(decode_plan(data, name), path, tag)
    return read_plan_bytes(data, name)


def parse_plan_bytes(data: bytes, name: str = "PLAN.md") -> Plan:
    """Validate raw plan bytes; `name` picks the format (.toml, .json, else Markdown)."""
    return to_plan(read_plan_bytes(data, name))


def read_plan_bytes(data: bytes, name: str = "PLAN.md", tag: str | None = None) -> PlanRecord:
    text = decode_plan(data, name)
    if name.endswith(".toml"):
        from .plan_formats import read_toml

        return read_toml(text, name)
    if name.endswith(".json"):
        from .taskmaster import read_tasks_json

        return read_tasks_json(text, name, tag)
    return read_markdown(text, name)


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
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


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


def parse_markdown(text: str, file: str = "PLAN.md") -> Plan:
    """The PLAN.md format: `# Plan: title`, free text, then `## ID: title` task sections."""
    return to_plan(read_markdown(text, file))


def special_offsets(text: str) -> Iterator[int]:
    """Where the lines that matter start (see SPECIAL_LINE); without fences, by str.find."""
    if "```" in text or "~~~" in text:
        yield from (match.start() for match in SPECIAL_LINE.finditer(text))
        return
    if text.startswith("##"):
        yield 0
    found = text.find("\n##")
    while found >= 0:
        yield found + 1
        found = text.find("\n##", found + 3)


def read_markdown(text: str, file: str = "PLAN.md") -> PlanRecord:
    """`parse_markdown`, as records.

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
    for offset in special_offsets(text):
        index += text.count("\n", counted, offset)
        counted = offset
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
        elif line.startswith("###") and (deep := DEEP_HEADING.match(line)):
            level = line[: len(line) - len(line.lstrip("#"))]
            check.problem(
                index + 1,
                f"{level} is not a task heading: {line.strip()[:60]!r}",
                f"a task heading has two #: `## {deep.group(1)}: Title`; "
                "a sub-heading of a description has no `ID:`",
            )

    first = headings[0][0] if headings else len(lines)
    title, index = "", 0
    while index < first and not title and PLAN_TITLE.match(lines[index]):
        title = PLAN_TITLE.sub("", lines[index]).strip()
        index += 1
    goal = "\n".join(lines[index:first]).strip()

    tasks: list[TaskRecord] = []
    next_stray = 0
    ends = [start for start, _ in headings[1:]] + [len(lines)] * bool(headings)
    key_match, known, convert = KEY_LINE.match, KNOWN_KEYS, check.convert
    no_strays = not strays
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
            if not fields and (not line or line.isspace()):
                index += 1
                continue
            key_line = None if line.startswith("## ") else key_match(line.rstrip())
            if not key_line:
                break
            key, value = key_line.groups()
            lowered = key.lower()
            if lowered not in known:
                check.unknown_key(key, index + 1)
            elif lowered in fields:
                check.problem(
                    index + 1, f"{lowered} given twice for task {task_id}", "keep one of them"
                )
            elif lowered == "depends" or lowered == "files":
                fields[lowered] = split_list(value)  # never a problem
            elif converted := convert(lowered, value, index + 1):
                fields[lowered] = converted[1]
            index += 1
        if no_strays:
            if valid:
                description = "\n".join(lines[index:end]).strip() if index < end else ""
                tasks.append(build_task(task_id, task_title, fields, description, number))
            continue
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
    if not tasks:  # perhaps another tool's plan: say so rather than "no tasks"
        from .foreign_plans import read_foreign

        foreign = read_foreign(text, file)
        if foreign is not None:
            return foreign
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
