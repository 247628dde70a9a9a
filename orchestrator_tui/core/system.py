"""CLAUDE.md: the per-stage instructions in its `## Stage N: Name` sections."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .models import StageName

STAGE_HEADING = re.compile(r"^##\s+Stage\s+(\d+)\s*:\s*(\w+)\s*$", re.IGNORECASE)
ANY_H2 = re.compile(r"^##\s")
LOOSE_STAGE = re.compile(r"^#{1,6}\s*stage\b", re.IGNORECASE)
AGENT_BUDGET = 16_000
PLAN_STAGES = frozenset({StageName.PLAN, StageName.PARALLEL, StageName.IMPLEMENT})
# general sections by what their title says: (words in the title, the stages they concern)
RELEVANT: tuple[tuple[tuple[str, ...], frozenset[StageName] | None], ...] = (
    (("how this system works",), None),
    (("session rules",), None),
    (("error handling",), None),
    (("edge cases",), None),
    (("plan", "format"), PLAN_STAGES),
    (("dependency",), PLAN_STAGES),
    (("verdict",), frozenset({StageName.REVIEW})),
)


@dataclass(frozen=True)
class SystemFile:
    """The text of CLAUDE.md and each stage's instructions."""

    text: str = ""
    stages: dict[StageName, str] = field(default_factory=dict)
    general: str = ""
    problems: tuple[str, ...] = ()

    def instructions(self, stage: StageName) -> str:
        return self.stages.get(stage, "")

    def for_agent(self, stage: StageName, budget: int = AGENT_BUDGET) -> str:
        """What an agent of `stage` is sent: its stage section, then the general sections
        that concern it (session rules, error handling, edge cases; the plan format for
        plan, parallel and implement; the verdict format for review), within `budget`
        characters; a section left out for size is named, so the agent can read it."""
        return agent_text(self, stage, budget)


def parse_system(text: str) -> SystemFile:
    """Split CLAUDE.md into stage sections; a section runs to the next `## ` heading."""
    stages: dict[StageName, list[str]] = {}
    general: list[str] = []
    problems: list[str] = []
    current: StageName | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        heading = STAGE_HEADING.match(line)
        if not heading and LOOSE_STAGE.match(line):
            problems.append(
                f"CLAUDE.md:{number}: {line.strip()!r} is not a stage heading the engine "
                "reads (it must be exactly `## Stage N: Name`); its text goes to no stage"
            )
        if heading:
            name = heading.group(2).lower()
            try:
                current = StageName(name)
            except ValueError:
                problems.append(f"CLAUDE.md:{number}: unknown stage {heading.group(2)!r}")
                current = None
                continue
            if current in stages:
                problems.append(f"CLAUDE.md:{number}: stage {current.title} appears twice")
            stages[current] = []
        elif ANY_H2.match(line):
            current = None
            general.append(line)
        elif current is not None:
            stages[current].append(line)
        else:
            general.append(line)
    return SystemFile(
        text=text,
        stages={stage: "\n".join(lines).strip() for stage, lines in stages.items()},
        general="\n".join(general).strip(),
        problems=tuple(problems),
    )


def load_system(path: Path) -> SystemFile:
    """CLAUDE.md from disk; a missing or unreadable file gives empty instructions."""
    try:
        return parse_system(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return SystemFile()


def changed_sections(old: SystemFile, new: SystemFile) -> list[str]:
    """Names of the stage sections that differ, and 'general' when the rest changed."""
    changed = [
        stage.title for stage in StageName if old.instructions(stage) != new.instructions(stage)
    ]
    if old.general != new.general:
        changed.append("general")
    return changed


def general_sections(general: str) -> list[tuple[str, str]]:
    """The general text as (title, text) sections; the part before any heading is ''."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in general.splitlines():
        if ANY_H2.match(line):
            sections.append((line[2:].strip(), [line]))
        else:
            sections[-1][1].append(line)
    return [(title, "\n".join(lines).strip()) for title, lines in sections if "".join(lines)]


def concerns(title: str, stage: StageName) -> int:
    """Its rank for `stage` (lower first), or -1 when the section is not for it."""
    lowered = title.lower()
    for rank, (words, stages) in enumerate(RELEVANT):
        if all(word in lowered for word in words):
            return rank if stages is None or stage in stages else -1
    return len(RELEVANT)  # a section the user added: sent, after the known ones


def agent_text(system: SystemFile, stage: StageName, budget: int) -> str:
    stage_text = system.instructions(stage)
    parts = [stage_text] if stage_text else []
    used = sum(len(p) for p in parts)
    ranked = sorted(
        ((concerns(title, stage), title, text) for title, text in general_sections(system.general)),
        key=lambda item: item[0],
    )
    left_out = []
    for rank, title, text in ranked:
        if rank < 0 or not title:
            continue
        if used + len(text) > budget:
            left_out.append(title)
            continue
        parts.append(text)
        used += len(text)
    if left_out:
        parts.append("(Left out for size; read them in CLAUDE.md: " + "; ".join(left_out) + ".)")
    return "\n\n".join(parts)
