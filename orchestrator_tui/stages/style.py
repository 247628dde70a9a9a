"""The project's own formatting style, for ruff, when the project states black's and not ruff's.

ruff reads its own settings (`[tool.ruff]`, ruff.toml) by itself; a project formatted with
black states black's (`[tool.black]` in pyproject.toml), which ruff does not read. Without
them, formatting the run's lines would impose ruff's defaults on the project: a new name
added to a long `__all__` of single-quoted strings rewrote all of them in double quotes (a
trial on more-itertools, whose pyproject.toml says `skip-string-normalization = true`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

RUFF_FILES = ("ruff.toml", ".ruff.toml")


def black_style(root: Path) -> tuple[list[str], str]:
    """ruff `--config` options that keep the black settings of `root`'s pyproject.toml, and
    words for them; none when ruff has settings of its own there or black has none."""
    if any((root / name).is_file() for name in RUFF_FILES):
        return [], ""
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return [], ""
    tool = data.get("tool")
    black = tool.get("black") if isinstance(tool, dict) and "ruff" not in tool else None
    if not isinstance(black, dict):
        return [], ""
    options: list[str] = []
    said: list[str] = []
    length = black.get("line-length")
    if isinstance(length, int) and not isinstance(length, bool) and 1 <= length <= 320:
        options += ["--config", f"line-length={length}"]
        said.append(f"line length {length}")
    if black.get("skip-string-normalization") is True:
        options += ["--config", "format.quote-style='preserve'"]
        said.append("quotes kept as written")
    if black.get("skip-magic-trailing-comma") is True:
        options += ["--config", "format.skip-magic-trailing-comma=true"]
        said.append("no magic trailing comma")
    return options, "black's settings in pyproject.toml: " + ", ".join(said) if said else ""
