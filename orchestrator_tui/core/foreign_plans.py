"""Other tools' plans, tried when a Markdown plan has no `## ID: Title` task.

- get-shit-done phase plans (`.planning/phases/01-x/01-02-PLAN.md`) are read: each
  `<task>` block (name, files, action, verify, done) is a task. The tasks of one GSD plan
  run in order, one after the other, unless a task says what it depends on
  (`<depends_on>` or a `depends_on="..."` attribute); checkpoint tasks, a person's steps,
  are shown and never run.
- CCPM epics, spec-kit plans and task lists, YAML front matter and XML blocks are named,
  with the line where they were recognised and what to do, instead of "no tasks".
"""

from __future__ import annotations

import re

from .plan_fields import PlanError, PlanProblem, PlanRecord, TaskFields, TaskRecord, finish

GSD_TASK = re.compile(r"<task\b([^>]*)>(.*?)</task>", re.S)
GSD_FIELD = re.compile(
    r"<(name|files|action|verify|done|depends_on|status|what-built|how-to-verify)>(.*?)</\1>",
    re.S,
)
ATTRIBUTE = re.compile(r'([\w\-]+)\s*=\s*"([^"]*)"')
TASK_NUMBER = re.compile(r"^\s*(?:task\s*)?(\d+)\s*[:.\-]\s*", re.I)
OBJECTIVE = re.compile(r"<objective>(.*?)</objective>", re.S)
FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.S)
FRONT_KEY = re.compile(r"^([A-Za-z_][\w\-]*)\s*:\s*(.*)$", re.M)
XML_BLOCK = re.compile(r"^[ \t]*<([A-Za-z_][\w\-]*)(?:\s[^>]*)?>", re.M)
SPEC_KIT_PLAN = re.compile(r"^#\s+Implementation Plan:", re.M | re.I)
SPEC_KIT_TASKS = re.compile(r"^\s*-\s*\[[ xX]\]\s+T\d{3}\b", re.M)
SPEC_KIT_TASKS_TITLE = re.compile(r"^#\s+Tasks:", re.M | re.I)
PLAN_MD_HINT = "PLAN.md wants `## T1: Title` sections (see `orchestrator-tui init`)"


def line_at(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def read_foreign(text: str, file: str) -> PlanRecord | None:
    """A plan read from another tool's format, or None when the text is not one we know.

    Raises PlanError naming the format when it is one we recognise but do not read.
    """
    if "<task" in text and (first := GSD_TASK.search(text)):
        return read_gsd(text, file, first.start())
    front = FRONT_MATTER.match(text)
    keys = dict(FRONT_KEY.findall(front.group(1))) if front else {}
    if front and "depends_on" in keys and "parallel" in keys:
        refuse(
            file,
            1,
            "this is a CCPM task file (front matter with depends_on and parallel)",
            "put the epic's tasks in one PLAN.md as `## 001: Title` sections with `depends:` lines",
        )
    if front and ({"prd", "epic", "github"} & keys.keys() or "progress" in keys):
        refuse(
            file,
            1,
            "this is a CCPM epic (epic.md), not a plan this tool reads",
            "CCPM keeps each task in a file of its own (001.md, ...) beside epic.md: "
            "write them as `## 001: Title` sections in PLAN.md (depends_on → depends, "
            "conflicts_with → files), or give the epic to the plan stage as the goal",
        )
    if match := SPEC_KIT_PLAN.search(text):
        refuse(
            file,
            line_at(text, match.start()),
            "this is a spec-kit implementation plan (plan.md); its tasks are in tasks.md",
            "run /speckit.tasks, then write its tasks as `## T001: Title` sections in "
            "PLAN.md, or give the spec to the plan stage as the goal",
        )
    if (match := SPEC_KIT_TASKS.search(text)) or (match := SPEC_KIT_TASKS_TITLE.search(text)):
        refuse(
            file,
            line_at(text, match.start()),
            "this is a spec-kit task list (tasks.md: `- [ ] T001 ...` lines)",
            "write each task as a `## T001: Title` section with `depends:` and `files:` "
            "lines ([P] tasks need no dependency on each other)",
        )
    if front:
        refuse(
            file,
            1,
            "YAML front matter (--- ... ---) and no `## ID: Title` task",
            f"{PLAN_MD_HINT}; front matter is not read",
        )
    if match := XML_BLOCK.search(text):
        refuse(
            file,
            line_at(text, match.start()),
            f"an XML block (<{match.group(1)}>) and no `## ID: Title` task",
            f"{PLAN_MD_HINT}; a get-shit-done plan has <task> blocks with a <name>",
        )
    return None


def refuse(file: str, line: int, message: str, hint: str) -> None:
    raise PlanError([PlanProblem(file, line, message, hint)])


def gsd_reference(item: str) -> str:
    """'2', 'Task 2' or 'T2' → T2; anything else as written."""
    item = item.strip().strip("'\"")
    number = re.fullmatch(r"(?:task\s*|t)?(\d+)", item, re.I)
    return f"T{number.group(1)}" if number else item


def strip_text(value: str) -> str:
    return "\n".join(line.strip() for line in value.strip().split("\n"))


def read_gsd(text: str, file: str, start: int) -> PlanRecord:
    """A get-shit-done phase plan: its `<task>` blocks, in order."""
    problems: list[PlanProblem] = []
    check = TaskFields(file, problems)
    front = FRONT_MATTER.match(text)
    keys = dict(FRONT_KEY.findall(front.group(1))) if front else {}
    phase, plan_number = keys.get("phase", "").strip(), keys.get("plan", "").strip()
    title = ", ".join(
        part for part in (phase and f"phase {phase}", plan_number and f"plan {plan_number}") if part
    )
    objective = OBJECTIVE.search(text)
    goal = strip_text(objective.group(1)) if objective else ""
    tasks: list[TaskRecord] = []
    line, counted = 1, 0
    previous = ""
    for number, block in enumerate(GSD_TASK.finditer(text, start), start=1):
        line += text.count("\n", counted, block.start())
        counted = block.start()
        attributes = dict(ATTRIBUTE.findall(block.group(1)))
        fields = {key: strip_text(value) for key, value in GSD_FIELD.findall(block.group(2))}
        name = fields.get("name", "")
        numbered = TASK_NUMBER.match(name)
        task_id = f"T{numbered.group(1) if numbered else number}"
        name = name[numbered.end() :] if numbered else name
        kind = attributes.get("type", "auto")
        checkpoint = kind.startswith("checkpoint")
        if checkpoint and not name:
            name = f"{kind}: {fields.get('what-built') or 'a person checks'}"
            fields.setdefault("action", fields.get("how-to-verify", ""))
        if not name:
            check.problem(line, f"<task> {number} has no <name>", "add <name>Task 1: ...</name>")
        declared = fields.get("depends_on", attributes.get("depends_on"))
        if declared is not None:
            items = [d.strip() for d in declared.strip("[] \n").split(",")]
            depends = tuple(gsd_reference(d) for d in items if d and d.lower() != "none")
        else:
            depends = (previous,) if previous else ()
        files = tuple(
            f.strip().strip("`") for f in re.split(r"[,\n]", fields.get("files", "")) if f.strip()
        )
        parts = [fields.get("action", "")]
        if fields.get("verify"):
            parts.append(f"Verify: {fields['verify']}")
        if fields.get("done"):
            parts.append(f"Done when: {fields['done']}")
        status = (fields.get("status") or attributes.get("status", "")).strip().lower()
        if check.check_id(task_id, line):
            tasks.append(
                TaskRecord(
                    id=task_id,
                    title=name or task_id,
                    depends=depends,
                    files=files,
                    description="\n\n".join(p for p in parts if p),
                    line=line,
                    done=status in ("done", "complete", "completed"),
                    skip=checkpoint,
                    note=kind if checkpoint else "",
                )
            )
        previous = task_id
    notes = ("read as a get-shit-done phase plan (<task> blocks, run in order)",)
    return finish(file, title, goal, tasks, problems, notes)
