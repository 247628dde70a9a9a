"""One agent pipe's bytes → its log file and its lines (masked once, capped at 1 MB).

`LineReader.feed(data)` takes whatever a read returned. Complete lines are logged and
handed on; a line with no newline yet waits, up to READ_CHUNK bytes, after which it goes
on in READ_CHUNK pieces (streamed to the log, its first MAX_LINE_BYTES kept for the
parser, the rest counted), so a 50 MB line costs no more memory than a short one.

Masking (core/redact.py) happens here and only here, once per line: the masked bytes go
to the parser and so to every view; the log gets them too with `redact`, the raw bytes
without it (run.redact = false keeps a raw log, never a raw screen). A read with no hint
of a secret in it skips the per-line look (the common case, and the flood's).
"""

from __future__ import annotations

from collections.abc import Callable

from .redact import SecretMasker, might_hold_secret

MAX_LINE_BYTES = 1024 * 1024
READ_CHUNK = 64 * 1024


def decode_line(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


class LineReader:
    """Splits one stream into lines; `deliver(text)` gets each one, decoded and capped."""

    def __init__(
        self,
        redact: bool,
        log: Callable[[bytes], None],
        deliver: Callable[[str], None],
    ) -> None:
        self.redact = redact
        self.log = log
        self.deliver_text = deliver
        self.masker = SecretMasker()
        self.partial = b""
        self.head = bytearray()  # the kept start of a line that came in pieces
        self.dropped = 0  # bytes of that line past MAX_LINE_BYTES

    def feed(self, data: bytes) -> None:
        buf = self.partial + data if self.partial else data
        end = buf.rfind(b"\n") + 1
        if end:
            self.complete_lines(buf[:end] if end < len(buf) else buf)
        rest = buf[end:]
        while len(rest) >= READ_CHUNK:
            self.piece(rest[:READ_CHUNK])
            rest = rest[READ_CHUNK:]
        self.partial = rest

    def finish(self) -> None:
        """The stream ended: a last line without a newline is still a line."""
        if self.partial:
            self.piece(self.partial)
            self.partial = b""
        if self.head or self.dropped:
            self.log(b"\n")
            self.end_line(b"")

    # ---- inside ---------------------------------------------------------------------

    def complete_lines(self, block: bytes) -> None:
        """`block` ends with a newline."""
        bodies = block[:-1].split(b"\n")
        if not (self.masker.in_key or might_hold_secret(block)):
            self.log(block)
            for body in bodies:
                self.end_line(body)
            return
        for body in bodies:
            line = body + b"\n"
            masked = self.masker.line(line)
            self.log(masked if self.redact else line)
            if masked:  # else: inside a private key block, nothing of it is shown
                self.end_line(masked[:-1] if masked.endswith(b"\n") else masked)

    def piece(self, chunk: bytes) -> None:
        """Part of a line longer than READ_CHUNK (or the unended last one)."""
        masked = self.masker.line(chunk)
        self.log(masked if self.redact else chunk)
        if masked:
            self.add_to_head(masked)

    def add_to_head(self, data: bytes) -> None:
        room = max(0, MAX_LINE_BYTES - len(self.head))
        self.head += data[:room]
        self.dropped += max(0, len(data) - room)

    def end_line(self, body: bytes) -> None:
        if self.head or self.dropped or len(body) > MAX_LINE_BYTES:
            self.add_to_head(body)
            body, dropped = bytes(self.head), self.dropped
            self.head.clear()
            self.dropped = 0
        else:
            dropped = 0
        text = decode_line(body)
        if dropped:
            text += f" … [line cut: {dropped:,} more bytes in the log]"
        self.deliver_text(text)
