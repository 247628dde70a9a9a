"""A line of JSON as agent CLIs print them (claude, codex and gemini stream JSON lines): the
object it holds, or None for any other line. Shared by the backends' parsers
(agents/base.py) and the monitor, which shows such lines in words (monitor/follower.py)."""

from __future__ import annotations

import json
from typing import Any


def json_object(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        data = json.loads(stripped)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
