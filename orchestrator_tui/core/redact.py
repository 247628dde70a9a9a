"""Masking strings that look like secrets before they reach a log, a screen or a report:
API keys and tokens (Anthropic, OpenAI, GitHub, AWS, Google, Slack) and private key blocks."""

from __future__ import annotations

import functools
import re
from typing import TypeVar

from .events import EventBase

E = TypeVar("E", bound=EventBase)

SECRET = re.compile(
    rb"sk-ant-[A-Za-z0-9_\-]{16,}|sk-(?:proj-)?[A-Za-z0-9_\-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}"
    rb"|github_pat_[A-Za-z0-9_]{30,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}"
    rb"|xox[abprs]-[A-Za-z0-9\-]{10,}"
)
SECRET_HINTS = (b"sk-", b"gh", b"AKIA", b"AIza", b"xox")
KEY_BEGIN = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
KEY_END = re.compile(rb"-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
KEY_BODY = b"[redacted private key]"


def redact_secrets(data: bytes) -> bytes:
    """`data` with key-like strings cut to their first 7 characters + "[redacted]", and
    private key blocks that begin and end inside it replaced. A cheap look for the prefixes
    first keeps a 50 MB flood fast."""
    if b"PRIVATE KEY" in data:
        data = re.sub(
            KEY_BEGIN.pattern + rb".*?(?:" + KEY_END.pattern + rb"|\Z)", KEY_BODY, data, flags=re.S
        )
    if not any(hint in data for hint in SECRET_HINTS):
        return data
    return SECRET.sub(lambda match: match.group()[:7] + b"[redacted]", data)


def mask_text(text: str) -> str:
    """The str form of redact_secrets, for one-off texts (reasons, notices, reports)."""
    return redact_secrets(text.encode("utf-8", "surrogateescape")).decode(
        "utf-8", "surrogateescape"
    )


class SecretMasker:
    """Masks a stream line by line; remembers when it is inside a private key block, whose
    body lines carry no marker of their own."""

    def __init__(self) -> None:
        self.in_key = False

    def line(self, data: bytes) -> bytes:
        if self.in_key:
            if KEY_END.search(data):
                self.in_key = False
                return KEY_BODY + b"\n" if data.endswith(b"\n") else KEY_BODY
            return b""  # the key's body: nothing of it is kept
        begin = KEY_BEGIN.search(data)
        if begin and not KEY_END.search(data, begin.end()):
            self.in_key = True
            head = redact_secrets(data[: begin.start()])
            return head + KEY_BODY + (b"\n" if data.endswith(b"\n") else b"")
        return redact_secrets(data)

    def text(self, line: str) -> str | None:
        """A display line masked; None when the whole line is hidden key material."""
        masked = self.line(line.encode("utf-8", "surrogateescape"))
        return masked.decode("utf-8", "surrogateescape") if masked else None


MASKED_FIELDS = ("reason", "text", "cause", "summary", "message")


@functools.cache
def masked_fields(kind: type) -> tuple[str, ...]:
    """Which of MASKED_FIELDS an event class has (looked up once per class)."""
    fields = getattr(kind, "model_fields", {})
    return tuple(name for name in MASKED_FIELDS if name in fields)


def mask_event(event: E) -> E:
    """Texts an agent may have echoed (reasons, notices) never carry a key into the log."""
    changes = {
        name: mask_text(value)
        for name in masked_fields(type(event))
        if isinstance(value := getattr(event, name), str) and value
    }
    changes = {name: value for name, value in changes.items() if value != getattr(event, name)}
    return event.evolve(changes) if changes else event
