"""CLAUDE.md: the per-stage instructions in its `## Stage N: Name` sections."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .models import StageName

STAGE_HEADING = re.compile(r"^##\s+Stage\s+(\d+)\s*:\s*(\w+)\s*$", re.IGNORECASE)
ANY_H2 = re.compile(r"^##\s")


@dataclass(frozen=True)
class SystemFile:
    """The text of CLAUDE.md and each stage's instructions."""

    text: str = ""
    stages: dict[StageName, str] = field(default_factory=dict)
    general: str = ""
    problems: tuple[str, ...] = ()

    def instructions(self, stage: StageName) -> str:
        return self.stages.get(stage, "")


def parse_system(text: str) -> SystemFile:
    """Split CLAUDE.md into stage sections; a section runs to the next `## ` heading."""
    stages: dict[StageName, list[str]] = {}
    general: list[str] = []
    problems: list[str] = []
    current: StageName | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        heading = STAGE_HEADING.match(line)
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
