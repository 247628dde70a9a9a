"""Masking strings that look like API keys before they reach a log or a screen."""

from __future__ import annotations

import re

# Strings that look like API keys or tokens (Anthropic, OpenAI, GitHub, AWS, Google, Slack).
SECRET = re.compile(
    rb"sk-ant-[A-Za-z0-9_\-]{16,}|sk-(?:proj-)?[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}"
    rb"|github_pat_[A-Za-z0-9_]{30,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}"
    rb"|xox[abprs]-[A-Za-z0-9\-]{10,}"
)
SECRET_HINTS = (b"sk-", b"gh", b"AKIA", b"AIza", b"xox")


def redact_secrets(data: bytes) -> bytes:
    """`data` with key-like strings cut to their first 7 characters + "[redacted]". A cheap
    look for the prefixes first keeps a 50 MB flood fast."""
    if not any(hint in data for hint in SECRET_HINTS):
        return data
    return SECRET.sub(lambda match: match.group()[:7] + b"[redacted]", data)
