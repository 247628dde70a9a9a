"""Agent output made safe for the screen.

An agent prints whatever it likes: colours, cursor movement, terminal titles, bells, NULs,
carriage-return progress bars, bidi overrides. Only SGR colours are kept (as Rich styles);
every other escape sequence and control character is removed, so no line can move the
cursor, clear the screen or retitle the terminal. Lines that look like errors or tool
calls are styled so they stand out.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

MAX_LINE_CHARS = 2_000

OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?")
DCS_LIKE = re.compile(r"\x1b[PX^_][^\x1b]*(?:\x1b\\)?")
CSI = re.compile(r"\x1b\[([0-?]*)([ -/]*)([@-~])")
OTHER_ESCAPE = re.compile(r"\x1b(?:[ -/]*[0-~])?")
C1_CSI = re.compile(r"\x9b[0-?]*[ -/]*[@-~]")
# C0 (but tab, newline and ESC, handled above), DEL, C1, and bidi/direction overrides.
CONTROL = re.compile(
    r"[\x00-\x08\x0a-\x1a\x1c-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)

ERROR_LINE = re.compile(
    r"(?i)\b(error|exception|traceback|failed|fatal|panic)\b|^\[sim\] error|^E\s{2,}"
)
TOOL_LINE = re.compile(r"^\s*(?:[→⏺⚙]|\[tool\]|tool:|\$ )", re.IGNORECASE)


def strip_escapes(line: str) -> str:
    """The line without any escape sequence except SGR (colour) ones."""
    if "\r" in line:
        # A carriage return redraws the line: what a terminal would show is the last part.
        parts = [p for p in line.split("\r") if p]
        line = parts[-1] if parts else ""
    if "\x1b" in line or "\x9b" in line:
        line = OSC.sub("", line)
        line = DCS_LIKE.sub("", line)
        line = CSI.sub(lambda m: m.group(0) if m.group(3) == "m" and not m.group(2) else "", line)
        line = C1_CSI.sub("", line)
        kept: list[str] = []
        position = 0
        for match in CSI.finditer(line):  # keep SGR, drop any other lone ESC
            kept.append(OTHER_ESCAPE.sub("", line[position : match.start()]))
            kept.append(match.group(0))
            position = match.end()
        kept.append(OTHER_ESCAPE.sub("", line[position:]))
        line = "".join(kept)
    line = line.replace("\t", "    ")
    return CONTROL.sub("", line)


def clean_line(
    line: str, error_style: Style | str = "bold red", tool_style: Style | str = "cyan"
) -> Text:
    """One agent line as styled, inert Text."""
    if len(line) > MAX_LINE_CHARS * 2:
        line = line[: MAX_LINE_CHARS * 2]
    raw = strip_escapes(line)
    text = Text.from_ansi(raw) if "\x1b" in raw else Text(raw)
    text = text[:MAX_LINE_CHARS] if len(text) > MAX_LINE_CHARS else text
    if len(raw) > MAX_LINE_CHARS:
        text.append("…")
    plain = text.plain
    if ERROR_LINE.search(plain):
        text.stylize(error_style)
    elif TOOL_LINE.match(plain):
        text.stylize(tool_style)
    return text
