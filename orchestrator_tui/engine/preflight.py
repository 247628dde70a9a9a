"""The preflight at the parallel gate: every agent profile the plan's tasks and the later
stages' own agents will use, and whether its program is on PATH — found before implement
starts, not by each task (or the review after an hour of work) failing.

The lookup is the wiring's `ProgramLocator` (agents/programs.py `locate`, the same one
`orchestrator-tui agents` uses): a program is looked up, never started. A missing one is a
blocker of the parallel gate, so `--approve all` does not pass it (headless CI mode ends
with exit 4 and the reason); a person can install the program and approve, or fix the
profile and retry the stage. A `shell` profile runs each task's `run:` line: its first word,
when it is a bare name (a path may be made by an earlier task), is looked up the same way,
and a line that cannot be split is a blocker too. With `run.executor = "ray"` the programs
live on the cluster's nodes and are not looked up here.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..core.config import AgentProfile, Config
from ..core.models import STAGES, StageName, Task, TaskStatus
from ..core.protocols import ProgramLocator
from ..core.state import RunState

SETTLED = (TaskStatus.DONE, TaskStatus.SKIPPED)
LATER_STAGES = STAGES[STAGES.index(StageName.IMPLEMENT) + 1 :]  # after this gate


@dataclass(frozen=True)
class Preflight:
    lines: tuple[str, ...] = ()  # Markdown for the gate's details
    evidence: tuple[dict[str, Any], ...] = ()  # one entry per profile
    blockers: tuple[str, ...] = ()

    @property
    def missing(self) -> int:
        return sum(1 for entry in self.evidence if not entry["found"])


def check_programs(
    tasks: Sequence[Task], state: RunState, config: Config, locate: ProgramLocator | None
) -> Preflight:
    """The profiles the tasks still to run will use, and where their programs are."""
    if locate is None:
        return Preflight()
    if config.run.executor == "ray":
        return Preflight(("**Agent programs**: on the Ray cluster's nodes (not looked up here)",))
    users: dict[str, tuple[AgentProfile, list[str]]] = {}
    blockers: list[str] = []
    for task in tasks:
        known = state.tasks.get(task.id)
        if task.skip or (known is not None and known.status in SETTLED):
            continue
        try:
            name, profile = config.agents.profile(task.agent or None)
        except KeyError as exc:
            blockers.append(f"{task.id}: {exc.args[0]}")
            continue
        users.setdefault(name, (profile, []))[1].append(task.id)
    for stage in LATER_STAGES:  # their own agents (`[stages.review] agent = …`) run later
        agent = config.stage(stage).agent
        if not agent:
            continue
        try:
            name, profile = config.agents.profile(agent)
        except KeyError as exc:
            blockers.append(f"the {stage.value} stage: {exc.args[0]}")
            continue
        users.setdefault(name, (profile, []))[1].append(f"the {stage.value} stage")
    lines = ["**Agent programs** (looked up on PATH, not started):", ""] if users else []
    evidence = []
    for name, (profile, ids) in users.items():
        found = locate(name, profile)
        where = found.path or found.note
        listed = ", ".join(ids)
        if found.missing:
            where = f"**not found** — {hint(name, profile)}"
            blockers.append(f"agent program not found: {found.program} (profile {name}: {listed})")
        label = f"{found.program}: " if found.program else ""
        lines.append(f"- `{name}` ({profile.backend}) for {listed}: {label}{where}")
        if profile.backend == "shell" and not profile.shell:
            run_lines = run_programs([t for t in tasks if t.id in ids], name, profile, locate)
            lines += run_lines.lines
            blockers += run_lines.blockers
        evidence.append(
            {
                "profile": name,
                "backend": profile.backend,
                "program": found.program,
                "path": found.path,
                "found": not found.missing,
                "tasks": ids,
            }
        )
    return Preflight(tuple(lines), tuple(evidence), tuple(blockers))


def run_programs(
    tasks: Sequence[Task], name: str, profile: AgentProfile, locate: ProgramLocator
) -> Preflight:
    """The programs the tasks' `run:` lines start (bare names only), each looked up once."""
    users: dict[str, list[str]] = {}
    blockers: list[str] = []
    for task in tasks:
        try:
            words = shlex.split(task.run or "")
        except ValueError as exc:
            blockers.append(f"{task.id}: cannot split its `run:` line: {exc}")
            continue
        if words and "/" not in words[0]:
            users.setdefault(words[0], []).append(task.id)
    lines = []
    for program, ids in users.items():
        found = locate(name, profile.model_copy(update={"executable": program}))
        if found.missing:
            listed = ", ".join(ids)
            lines.append(f"  - `{program}` for {listed}: **not found** — install it, or fix `run:`")
            blockers.append(f"program not found: {program} (the `run:` line of {listed})")
    return Preflight(tuple(lines), (), tuple(blockers))


def hint(name: str, profile: AgentProfile) -> str:
    field = "command" if profile.backend in ("acp", "command") else "executable"
    return f"install it, or set agents.{name}.{field} in .orchestrator/config.toml"
