"""Agent output made safe for the screen.

An agent prints whatever it likes: colours, cursor movement, terminal titles, bells, NULs,
carriage-return progress bars, bidi overrides. Every escape sequence (colours too) and
every control character is removed, so no line can move the cursor, clear the screen or
retitle the terminal; what is left is plain text. `line_kind` says which lines to
highlight (errors, tool calls); the log pane styles them when it draws them.
"""

from __future__ import annotations

import re
from typing import Literal

MAX_LINE_CHARS = 2_000

OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
STRING_SEQUENCE = re.compile(r"\x1b[PX^_][^\x1b]*(?:\x1b\\)?")
CSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]")
OTHER_ESCAPE = re.compile(r"\x1b[ -/]*[0-~]?")
# C0 but tab, DEL, C1, and the bidi/direction overrides that reorder what follows.
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

# The backends' compact lines: "▸ Write src/x.py", "▸ Bash: pytest -q" for tool calls,
# "✗ …" for a failed tool or turn (agents/claude.py, agents/codex.py).
ERROR_LINE = re.compile(
    r"(?i)\b(error|exception|traceback|failed|fatal|panic)\b|^\[sim\] error|^E\s{2,}"
    r"|^\s*(?:── )?✗"
)
TOOL_LINE = re.compile(r"^\s*(?:[▸→⏺⚙]|\[tool\]|tool:|\$ )", re.IGNORECASE)


def strip_escapes(line: str) -> str:
    """The line as plain, inert text of at most MAX_LINE_CHARS characters."""
    if len(line) > MAX_LINE_CHARS * 4:
        line = line[: MAX_LINE_CHARS * 4]
    if "\r" in line:
        # A carriage return redraws the line: what a terminal would show is the last part.
        parts = [p for p in line.split("\r") if p]
        line = parts[-1] if parts else ""
    if "\x1b" in line or "\x9b" in line:
        line = OSC.sub("", line)
        line = STRING_SEQUENCE.sub("", line)
        line = CSI.sub("", line)
        line = OTHER_ESCAPE.sub("", line)
    line = CONTROL.sub("", line)
    if "\t" in line:
        line = line.expandtabs(4)
    if len(line) > MAX_LINE_CHARS:
        line = line[: MAX_LINE_CHARS - 1] + "…"
    return line


def line_kind(plain: str) -> Literal["error", "tool", ""]:
    """How a cleaned line is highlighted: an error, a tool call (Claude Code's compact
    `→ Edit path` lines, shell commands), or nothing."""
    if ERROR_LINE.search(plain):
        return "error"
    if TOOL_LINE.match(plain):
        return "tool"
    return ""
