"""Files shipped with the package: the CLAUDE.md seed and the demo project."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# Wheels carry a copy in data/ (see pyproject's force-include); a source checkout has the
# original at the top of the repository.
CLAUDE_MD_PLACES = (PACKAGE / "data" / "CLAUDE.md.example", PACKAGE.parent / "CLAUDE.md.example")


def claude_md_example() -> str:
    for place in CLAUDE_MD_PLACES:
        if place.is_file():
            return place.read_text(encoding="utf-8")
    raise FileNotFoundError("CLAUDE.md.example is missing from this installation")
