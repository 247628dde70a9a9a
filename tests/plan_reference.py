"""Straightforward references for the fast paths of the plan parser and the DAG analysis:
PLAN.md as it was read before the speed work of issue 17, file overlap by comparing every
pair of tasks, ancestry by transitive closure. Tests compare the fast paths with these."""

from __future__ import annotations

import re
from typing import Any

from orchestrator_tui.core.plan import (
    DEEP_HEADING,
    FENCE,
    KEY_LINE,
    KNOWN_KEYS,
    PLAN_TITLE,
    SPECIAL_LINE,
    TASK_HEADING,
)
from orchestrator_tui.core.plan_fields import (
    PlanProblem,
    PlanRecord,
    TaskFields,
    TaskRecord,
    build_task,
    finish,
)


def reference_read_markdown(text: str, file: str = "PLAN.md") -> PlanRecord:
    """PLAN.md as core/plan.py read it before the speed work of issue 17.

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
    if not tasks:  # perhaps another tool's plan: say so rather than "no tasks"
        from orchestrator_tui.core.foreign_plans import read_foreign

        foreign = read_foreign(text, file)
        if foreign is not None:
            return foreign
    return finish(file, title, goal, tasks, problems)
