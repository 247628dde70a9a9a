"""Task Master's tasks.json, read the way Task Master reads it.

- Tags: a tagged file (`{"master": {"tasks": [...]}, "feature": {...}}`) is read at the
  tag asked for (`plan check --tag`, `[run] taskmaster_tag`), else at the current tag of
  `.taskmaster/state.json`, else at master; the plan's notes say which tag was read and
  why. A legacy file (`{"tasks": [...]}`) has no tags.
- IDs: a subtask is `{parent}.{n}`, n being the part of its id after the last dot (an id
  written "1.1" or 10.1 is not given its parent twice).
- Dependencies: a dotted one ("3.2") names a subtask; a number or a dotless string in a
  subtask names the sibling subtask when there is one, else the top-level task.
- Statuses: done and completed are done; cancelled and deferred are never run (`skip`);
  in-progress, review and blocked are pending, with the status kept as the task's note.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from .plan_fields import PlanError, PlanProblem, PlanRecord, TaskFields, TaskRecord, finish

PRIORITY = {"critical": 3, "high": 2, "medium": 1, "low": 0}
DONE = frozenset({"done", "completed"})
SKIPPED = frozenset({"cancelled", "canceled", "deferred"})
FIX_HINT = "remove the dependency or run `task-master fix-dependencies`"
JSON_ID = re.compile(r'"id"\s*:\s*("(?:[^"\\\n]|\\.)*"|[^\s,}\]]+)')
CONFLICT_MARKER = re.compile(r"^(<{7}|={7}|>{7})(?: |$)", re.M)
DECODER = json.JSONDecoder(parse_float=str)  # 10.1 stays "10.1", 1.10 stays "1.10"


def problem_error(file: str, line: int, message: str, hint: str) -> PlanError:
    return PlanError([PlanProblem(file, line, message, hint)])


def line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def read_tasks_json_file(text: str, path: Path, tag: str | None = None) -> PlanRecord:
    """A tasks.json on disk: its current tag comes from `.taskmaster/state.json`."""
    current = None
    for candidate in (path.parent.parent / "state.json", path.parent / "state.json"):
        try:
            state = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if isinstance(state, dict) and isinstance(state.get("currentTag"), str):
            current = (state["currentTag"], str(candidate))
            break
    return read_tasks_json(text, str(path), tag, current)


def top_level(text: str, file: str) -> tuple[Any, dict[str, int]]:
    """The parsed document, and for an object the offset of each top-level value."""
    index = len(text) - len(text.lstrip())
    offsets: dict[str, int] = {}
    try:
        if not text.startswith("{", index):
            return DECODER.decode(text), offsets
        data: dict[str, Any] = {}
        index = skip_space(text, index + 1)
        if text.startswith("}", index):
            return data, offsets
        while True:
            if not text.startswith('"', index):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, index
                )
            key, index = json.decoder.scanstring(text, index + 1)
            index = skip_space(text, index)
            if not text.startswith(":", index):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, index)
            index = skip_space(text, index + 1)
            offsets[key] = index
            data[key], index = DECODER.raw_decode(text, index)
            index = skip_space(text, index)
            if text.startswith("}", index):
                break
            if not text.startswith(",", index):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, index)
            index = skip_space(text, index + 1)
        if text[index + 1 :].strip():
            raise json.JSONDecodeError("Extra data", text, skip_space(text, index + 1))
        return data, offsets
    except json.JSONDecodeError as exc:
        raise problem_error(file, exc.lineno, f"JSON: {exc.msg}", "fix the JSON syntax") from None
    except RecursionError:
        raise problem_error(file, 0, "JSON: nested too deeply", "is this the plan file?") from None


def skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\n\r":
        index += 1
    return index


def count_tasks(value: Any) -> int:
    tasks = value.get("tasks") if isinstance(value, dict) else None
    return len(tasks) if isinstance(tasks, list) else 0


def choose_tag(
    data: dict[str, Any],
    file: str,
    text: str,
    offsets: dict[str, int],
    tag: str | None,
    current: tuple[str, str] | None,
) -> tuple[str, str]:
    """(tag, why it was chosen), or PlanError when that tag is missing or empty."""
    tags = [key for key, value in data.items() if isinstance(value, dict) and "tasks" in value]
    if tag:
        chosen, why = tag, "asked for"
    elif current and current[0] in data:
        chosen, why = current[0], f"the current tag in {current[1]}"
    elif "master" in data or not tags:
        chosen, why = "master", "the default tag"
    else:
        chosen, why = tags[0], "the only tag" if len(tags) == 1 else "the first tag"
    listing = ", ".join(
        f"{name} ({count} task{'s' * (count != 1)})"
        for name in tags
        if (count := count_tasks(data[name])) or tag
    )
    if chosen not in data:
        hint = f"tags in this file: {listing}" if tags else 'expected {"master": {"tasks": [...]}}'
        raise problem_error(file, 1, f"no tag {chosen!r} in this tasks.json ({why})", hint)
    others = [name for name in tags if name != chosen and count_tasks(data[name])]
    if not count_tasks(data[chosen]) and others:
        raise problem_error(
            file,
            line_at(text, offsets[chosen]),
            f"tag {chosen!r} ({why}) has no tasks",
            f"tags with tasks: {listing}; choose one with --tag or [run] taskmaster_tag, "
            "or `task-master use-tag NAME`",
        )
    return chosen, why


def read_tasks_json(
    text: str,
    file: str = "tasks.json",
    tag: str | None = None,
    current: tuple[str, str] | None = None,
) -> PlanRecord:
    """Task Master's tasks.json, tagged or legacy; `current`: (tag, where it was read)."""
    if not text.strip():
        raise problem_error(
            file, 0, "the file is empty", "run `task-master parse-prd`, or give another plan"
        )
    if "=======" in text and (marker := CONFLICT_MARKER.search(text)):
        raise problem_error(
            file,
            line_at(text, marker.start()),
            f"an unresolved merge conflict ({marker.group(1)})",
            "resolve the conflict (keep one side of each <<<<<<< ... >>>>>>> block), "
            "then `task-master validate-dependencies`",
        )
    data, offsets = top_level(text, file)
    notes: list[str] = []
    start, end = 0, len(text)
    if isinstance(data, dict) and isinstance(data.get("tasks"), list):
        raw_tasks = data["tasks"]
        if tag and tag != "master":
            raise problem_error(
                file,
                1,
                f"no tag {tag!r}: this tasks.json has no tags (the legacy format)",
                "leave out the tag, or `task-master migrate` to the tagged format",
            )
        meta = data.get("meta")
    elif isinstance(data, dict) and data:
        chosen, why = choose_tag(data, file, text, offsets, tag, current)
        value = data[chosen]
        raw_tasks = value.get("tasks") if isinstance(value, dict) else None
        meta = value.get("metadata") if isinstance(value, dict) else None
        start = offsets[chosen]
        end = min((o for o in offsets.values() if o > start), default=len(text))
        others = [k for k, v in data.items() if k != chosen and isinstance(v, dict)]
        notes.append(
            f"read tag {chosen!r} ({why})"
            + (f"; other tags: {', '.join(others)}" if others else "")
        )
    else:
        raw_tasks, meta = None, None
    if not isinstance(raw_tasks, list):
        raise problem_error(
            file,
            1,
            "no task list found",
            'expected {"tasks": [...]} or {"master": {"tasks": [...]}}',
        )
    title = meta.get("projectName", "") if isinstance(meta, dict) else ""
    reader = TaskMasterReader(text, file, start, end)
    tasks = reader.read(raw_tasks)
    return finish(file, str(title or ""), "", tasks, reader.problems, tuple(notes), unknown_hint)


def unknown_hint(task_id: str, dep: str) -> str:
    if "." in task_id and "." not in dep:
        parent = task_id.rsplit(".", 1)[0]
        return f"no subtask {parent}.{dep} nor task {dep}: {FIX_HINT}"
    return f"no {'subtask' if '.' in dep else 'task'} {dep}: {FIX_HINT}"


def local_id(raw: Any) -> str:
    """A subtask's own number: what follows the last dot ("1.1" → "1", 10.1 → "1")."""
    return str(raw).strip().rsplit(".", 1)[-1]


class TaskMasterReader:
    """Builds the records of one task list, finding each task's line as it goes."""

    def __init__(self, text: str, file: str, start: int, end: int) -> None:
        self.text, self.file = text, file
        self.problems: list[PlanProblem] = []
        self.check = TaskFields(file, self.problems)
        # Every `"id": value` of the tag's section, in document order: (value, offset, line).
        self.ids: list[tuple[str, int, int]] = []
        line, counted = line_at(text, start), start
        for match in JSON_ID.finditer(text, start, end):
            line += text.count("\n", counted, match.start())
            counted = match.start()
            try:
                self.ids.append((str(DECODER.decode(match.group(1))), counted, line))
            except ValueError:
                continue
        self.cursor = 0
        self.offset, self.line = start, line_at(text, start)

    def next_line(self, value: Any) -> int:
        """The line of the next `"id"` whose value is `value`; 0 when there is none."""
        wanted = str(value)
        for index in range(self.cursor, len(self.ids)):
            if self.ids[index][0] == wanted:
                self.cursor = index + 1
                _, self.offset, self.line = self.ids[index]
                return self.line
        return 0

    def line_of_value(self, value: Any, fallback: int) -> int:
        """The line of a value that has no id (a string subtask): its next occurrence."""
        for spelling in (json.dumps(value), json.dumps(value, ensure_ascii=False)):
            found = self.text.find(spelling, self.offset)
            if found >= 0:
                self.line += self.text.count("\n", self.offset, found)
                self.offset = found
                return self.line
        return fallback

    def problem(self, line: int, message: str, hint: str) -> None:
        self.problems.append(PlanProblem(self.file, line, message, hint))

    def deps(self, raw: dict[str, Any], owner: str, line: int) -> list[Any]:
        value = raw.get("dependencies") or []
        if isinstance(value, list):
            return value
        self.problem(
            line, f'"dependencies" of {owner} is not a list', 'write "dependencies": [...]'
        )
        return []

    def read(self, raw_tasks: list[Any]) -> list[TaskRecord]:
        tasks: list[TaskRecord] = []
        for raw in raw_tasks:
            if not isinstance(raw, dict) or "id" not in raw:
                self.problem(
                    self.line_of_value(raw, 0) if not isinstance(raw, dict) else 0,
                    "a task is not an object with an id",
                    'give it "id": 1',
                )
                continue
            tasks.extend(self.read_task(raw))
        return tasks

    def read_task(self, raw: dict[str, Any]) -> list[TaskRecord]:
        parent_id = str(raw["id"]).strip()
        line = 0
        subtasks: list[Any] = []
        for key in raw:  # the ids appear in the text in the order of the object's keys
            if key == "id":
                line = self.next_line(raw["id"])
            elif key == "subtasks":
                subtasks = raw[key] if isinstance(raw[key], list) else []
        if raw.get("subtasks") and not isinstance(raw["subtasks"], list):
            self.problem(
                line, f'"subtasks" of task {parent_id} is not a list', 'write "subtasks": [...]'
            )
        parent_deps = tuple(str(d).strip() for d in self.deps(raw, f"task {parent_id}", line))
        status = str(raw.get("status") or "pending").strip().lower()
        # A subtask's own number for each subtask object, to resolve sibling references.
        siblings = {
            local_id(sub["id"]) for sub in subtasks if isinstance(sub, dict) and "id" in sub
        }
        records: list[TaskRecord] = []
        sub_ids: list[str] = []
        for position, sub in enumerate(subtasks, start=1):
            if not isinstance(sub, dict) or "id" not in sub:
                shown = f"{sub[:40]!r}" if isinstance(sub, str) else "it"
                self.problem(
                    self.line_of_value(sub, line) if not isinstance(sub, dict) else line,
                    f"subtask {position} of task {parent_id} has no id"
                    + (f": {shown} is a string, not an object" if isinstance(sub, str) else ""),
                    'write it as {"id": 1, "title": "..."}',
                )
                continue
            sub_line = 0
            for key in sub:
                if key == "id":
                    sub_line = self.next_line(sub["id"])
            sub_id = f"{parent_id}.{local_id(sub['id'])}"
            sub_ids.append(sub_id)
            resolved = []
            for dep in self.deps(sub, f"subtask {sub_id}", sub_line or line):
                text = str(dep).strip()
                if "." in text:
                    resolved.append(text)
                elif text in siblings:
                    resolved.append(f"{parent_id}.{text}")
                else:
                    resolved.append(text)
            sub_status = str(sub.get("status") or "pending").strip().lower()
            if status in DONE or status in SKIPPED:
                sub_status = status if sub_status not in DONE else sub_status
            record = self.record(
                sub, sub_id, parent_deps + tuple(resolved), sub_line or line, sub_status
            )
            if record:
                records.append(record)
        parent = self.record(raw, parent_id, parent_deps + tuple(sub_ids), line, status)
        if parent:
            records.append(parent)
        return records

    def record(
        self, raw: dict[str, Any], task_id: str, depends: tuple[str, ...], line: int, status: str
    ) -> TaskRecord | None:
        if not self.check.check_id(task_id, line):
            return None
        parts = [str(raw.get("description") or "").strip(), str(raw.get("details") or "").strip()]
        if raw.get("testStrategy"):
            parts.append(f"Test strategy: {str(raw['testStrategy']).strip()}")
        priority = str(raw.get("priority") or "medium").strip().lower()
        return TaskRecord(
            id=task_id,
            title=str(raw.get("title") or task_id).strip(),
            depends=tuple(dict.fromkeys(depends)),
            priority=PRIORITY.get(priority, 1),
            description="\n\n".join(p for p in parts if p),
            done=status in DONE,
            line=line,
            skip=status in SKIPPED,
            note="" if status in DONE or status == "pending" else status,
        )
