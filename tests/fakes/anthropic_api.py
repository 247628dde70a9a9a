"""A loopback stand-in for the Anthropic Messages API, for running the real Claude Code CLI offline.

The server is stateless: it reads the turn from the number of ``assistant`` messages after the
latest user prompt in each request, and the behaviour from markers in that prompt (system
reminders and tool results are ignored), so retries, resumed sessions and several agents
running in parallel against one server each get their own script. Markers (one per line):

- ``WRITE_FILE: relative/path.txt`` (optional ``CONTENT: text`` with ``\\n`` escapes, or lines
  between ``CONTENT<<TAG`` and ``TAG``): turn 0 answers a ``Write`` tool_use whose
  ``file_path`` is ``<Working directory>/relative/path.txt``; then ``done``. Several
  ``WRITE_FILE`` markers give several tool_use blocks in one reply.
- ``BASH: command``: turn 0 answers a ``Bash`` tool_use; then ``done``. Under
  ``--permission-mode acceptEdits`` the CLI refuses e.g. ``make deploy`` (it shows up in
  ``permission_denials``, exit 0) but runs commands that only write inside the cwd, such as
  ``echo hi > x.txt``.
- ``READ_FILE: relative/path.txt``: turn 0 answers a ``Read`` tool_use; then ``done``.
- ``TOOL_LOOP``: every turn answers another ``Read`` tool_use, to reach ``--max-turns``.
- ``API_ERROR_400`` (or any ``API_ERROR_<status>``): the HTTP error in the API's shape.
- ``REPLY: text``: the final text answer is ``text`` instead of ``done``.
- ``DELAY_MS: n``: wait ``n`` ms before answering each request (to test cancellation).

Without a marker the answer is a short text. ``FakeAnthropic(default_prompt=...)`` supplies
markers for requests whose prompt has none; ``responder=`` replaces the logic entirely.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_TEXT = "Hello from the fake Anthropic API."
FINAL_TEXT = "done"
INPUT_TOKENS = 120
OUTPUT_TOKENS = 30

_WORKING_DIR = re.compile(r"^\s*(?:-\s*)?(?:Primary )?[Ww]orking directory:\s*(\S.*?)\s*$", re.M)
_API_ERROR = re.compile(r"\bAPI_ERROR_(\d{3})\b")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received, kept for assertions."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class ToolUse:
    """A tool call the fake model makes."""

    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """What the fake model answers to one request: text, tool calls, or an HTTP error."""

    text: str | None = None
    tool_uses: tuple[ToolUse, ...] = ()
    error_status: int | None = None
    error_message: str = ""
    delay_s: float = 0.0
    input_tokens: int = INPUT_TOKENS
    output_tokens: int = OUTPUT_TOKENS

    @property
    def stop_reason(self) -> str:
        return "tool_use" if self.tool_uses else "end_turn"


Responder = Callable[[dict[str, Any]], Reply]


@dataclass(frozen=True)
class Markers:
    """Behaviour markers found in a prompt, one field per marker."""

    files: tuple[tuple[str, str], ...] = ()
    bash: str | None = None
    read_file: str | None = None
    tool_loop: bool = False
    api_error: int | None = None
    reply: str | None = None
    delay_ms: int = 0


def _line_value(text: str, key: str) -> str | None:
    """The rest of the line after ``KEY:``, wherever the marker starts on its line."""
    match = re.search(rf"(?<![A-Za-z0-9_]){key}:[ \t]*(.*?)[ \t]*$", text, re.M)
    return match.group(1) if match else None


def _path_value(text: str, key: str) -> str | None:
    """The first word after ``KEY:`` (a path; trailing prose and punctuation are not part of it)."""
    value = _line_value(text, key)
    if not value:
        return None
    return value.split()[0].rstrip(".,;")


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), value)


def files_to_write(text: str) -> list[tuple[str, str]]:
    """(path, content) for each ``WRITE_FILE`` marker, each with the ``CONTENT`` that follows.

    ``CONTENT: text`` is one line (``\\n`` and ``\\t`` escapes allowed); ``CONTENT<<TAG``
    takes the lines up to a line ``TAG``, verbatim. A file without content gets ``hello``.
    """
    files: list[list[str | None]] = []
    pending: str | None = None
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        write = re.search(r"(?<![A-Za-z0-9_])WRITE_FILE:[ \t]*(\S+)", line)
        if write:
            files.append([write.group(1).rstrip(".,;"), pending])
            pending = None
            continue
        block = re.search(r"(?<![A-Za-z0-9_])CONTENT<<[ \t]*(\S+)\s*$", line)
        single = re.search(r"(?<![A-Za-z0-9_])CONTENT:[ \t]?(.*)$", line)
        content: str | None = None
        if block:
            body: list[str] = []
            while index < len(lines) and lines[index].strip() != block.group(1):
                body.append(lines[index])
                index += 1
            index += 1
            content = "\n".join(body) + "\n"
        elif single:
            content = _unescape(single.group(1).rstrip())
            content = content if content.endswith("\n") else content + "\n"
        if content is None:
            continue
        target = next((f for f in files if f[1] is None), None)
        if target is not None:
            target[1] = content
        else:
            pending = content
    return [(str(path), content if content is not None else "hello\n") for path, content in files]


def parse_markers(text: str) -> Markers:
    """Read the behaviour markers out of a prompt's text."""
    error = _API_ERROR.search(text)
    delay = _line_value(text, "DELAY_MS")
    return Markers(
        files=tuple(files_to_write(text)),
        bash=_line_value(text, "BASH"),
        read_file=_path_value(text, "READ_FILE"),
        tool_loop=re.search(r"\bTOOL_LOOP\b", text) is not None,
        api_error=int(error.group(1)) if error else None,
        reply=_line_value(text, "REPLY"),
        delay_ms=int(delay) if delay and delay.isdigit() else 0,
    )


def _block_texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
        return
    if not isinstance(content, list):
        return
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            yield str(block.get("text", ""))


def _prompt_index(body: dict[str, Any]) -> int | None:
    """Index of the latest user message with words of its own (not only tool results)."""
    messages = body.get("messages", [])
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, dict) and message.get("role") == "user" and _own_words(message):
            return index
    return None


def _own_words(message: dict[str, Any]) -> list[str]:
    return [
        text
        for text in _block_texts(message.get("content"))
        if not text.lstrip().startswith("<system-reminder>")
    ]


def prompt_text(body: dict[str, Any]) -> str:
    """The user's latest prompt: its text blocks, without tool results or system reminders.

    A resumed session replays the earlier prompts; only the newest one chooses the behaviour.
    """
    index = _prompt_index(body)
    if index is None:
        return ""
    return "\n".join(_own_words(body["messages"][index]))


def system_text(body: dict[str, Any]) -> str:
    """The whole system prompt, whether a string, a list of blocks, or system-role messages."""
    parts = list(_block_texts(body.get("system")))
    for message in body.get("messages", []):
        if isinstance(message, dict) and message.get("role") == "system":
            parts.extend(_block_texts(message.get("content")))
    return "\n".join(parts)


def working_directory(body: dict[str, Any]) -> str | None:
    """The agent's cwd, which Claude Code states in its system prompt."""
    match = _WORKING_DIR.search(system_text(body))
    return match.group(1) if match else None


def turn_number(body: dict[str, Any]) -> int:
    """How many times the model has answered since the latest prompt (0 on a fresh prompt)."""
    messages = body.get("messages", [])
    start = _prompt_index(body)
    return sum(
        1 for m in messages[(start or 0) :] if isinstance(m, dict) and m.get("role") == "assistant"
    )


def _join(directory: str | None, relative: str) -> str:
    if relative.startswith("/") or not directory:
        return relative
    return directory.rstrip("/") + "/" + relative


def scripted_reply(body: dict[str, Any], default_prompt: str = "") -> Reply:
    """The marker-driven behaviour described in the module docstring."""
    text = prompt_text(body)
    markers = parse_markers(text)
    if markers == Markers() and default_prompt:
        markers = parse_markers(default_prompt)
    delay = markers.delay_ms / 1000
    final = markers.reply if markers.reply is not None else FINAL_TEXT
    if markers.api_error is not None:
        status = markers.api_error
        return Reply(
            error_status=status,
            error_message=f"fake API error {status} (requested by the prompt)",
            delay_s=delay,
        )
    if not body.get("tools"):
        # A side request (title, summary, quota probe): no tools offered, answer plain text.
        return Reply(text=markers.reply or DEFAULT_TEXT, delay_s=delay)
    turn = turn_number(body)
    cwd = working_directory(body)
    if markers.tool_loop:
        target = _join(cwd, markers.read_file or "README.md")
        return Reply(
            text=f"Reading again (turn {turn}).",
            tool_uses=(ToolUse("Read", {"file_path": target}),),
            delay_s=delay,
        )
    tools = [
        ToolUse("Write", {"file_path": _join(cwd, path), "content": content})
        for path, content in markers.files
    ]
    if markers.bash:
        tools.append(
            ToolUse("Bash", {"command": markers.bash, "description": "Run the requested command"})
        )
    if markers.read_file:
        tools.append(ToolUse("Read", {"file_path": _join(cwd, markers.read_file)}))
    if tools and turn == 0:
        names = ", ".join(tool.name for tool in tools)
        return Reply(text=f"I will use {names}.", tool_uses=tuple(tools), delay_s=delay)
    if tools:
        return Reply(text=final, delay_s=delay)
    return Reply(text=markers.reply or DEFAULT_TEXT, delay_s=delay)


def _tool_id(body: dict[str, Any], index: int) -> str:
    seed = json.dumps(body.get("messages", []), sort_keys=True, default=str) + str(index)
    return "toolu_01" + hashlib.sha256(seed.encode()).hexdigest()[:22]


def _message_id(body: dict[str, Any]) -> str:
    seed = json.dumps(body.get("messages", []), sort_keys=True, default=str)
    return "msg_01" + hashlib.sha256(seed.encode()).hexdigest()[:22]


def _content_blocks(reply: Reply, body: dict[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "text", "text": reply.text})
    for index, tool in enumerate(reply.tool_uses):
        blocks.append(
            {
                "type": "tool_use",
                "id": _tool_id(body, index),
                "name": tool.name,
                "input": tool.input,
            }
        )
    return blocks


def _usage(reply: Reply) -> dict[str, Any]:
    return {
        "input_tokens": reply.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": reply.output_tokens,
        "service_tier": "standard",
    }


def message_json(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    """A whole (non-streamed) Messages API response."""
    return {
        "id": _message_id(body),
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "claude-sonnet-4-5"),
        "content": _content_blocks(reply, body),
        "stop_reason": reply.stop_reason,
        "stop_sequence": None,
        "usage": _usage(reply),
    }


def sse_events(reply: Reply, body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The Server-Sent Events of a streamed response, as (event name, data) pairs."""
    start = message_json(reply, body)
    start["content"] = []
    start["stop_reason"] = None
    start["usage"] = {**_usage(reply), "output_tokens": 1}
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(_content_blocks(reply, body)):
        if block["type"] == "text":
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            text = block["text"]
            for cut in range(0, len(text), 16):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": text[cut : cut + 16]},
                    },
                )
        else:
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": block["id"],
                        "name": block["name"],
                        "input": {},
                    },
                },
            )
            raw = json.dumps(block["input"])
            for cut in range(0, len(raw), 32):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": raw[cut : cut + 32]},
                    },
                )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def error_json(status: int, message: str) -> dict[str, Any]:
    """An error body in the API's shape."""
    return {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
    }


class FakeAnthropic:
    """Context manager running the stand-in on 127.0.0.1 in a background thread.

    ``url`` is the base URL for ``ANTHROPIC_BASE_URL``; ``requests`` lists every request
    received (``RecordedRequest``), in arrival order. ``default_prompt`` holds markers used
    when a request's prompt has none (so a whole test can pick one behaviour); ``responder``,
    a function from the request body to a ``Reply``, replaces the marker logic.
    """

    def __init__(self, default_prompt: str = "", responder: Responder | None = None) -> None:
        self.default_prompt = default_prompt
        self.responder = responder
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def messages_requests(self) -> list[dict[str, Any]]:
        """Bodies of the ``POST /v1/messages`` requests received so far."""
        with self._lock:
            return [
                r.body
                for r in self.requests
                if r.method == "POST" and r.path.split("?")[0] == "/v1/messages"
            ]

    def reply_for(self, body: dict[str, Any]) -> Reply:
        if self.responder is not None:
            return self.responder(body)
        return scripted_reply(body, self.default_prompt)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> FakeAnthropic:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _make_handler(fake: FakeAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _read_body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                return json.loads(raw) if raw else None
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _record(self, body: Any) -> None:
            fake._record(RecordedRequest(self.command, self.path, dict(self.headers.items()), body))

        def _send_json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", "req_fake")
            self.end_headers()
            self.wfile.write(data)

        def do_HEAD(self) -> None:
            self._record(None)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self._record(None)
            path = self.path.split("?")[0]
            if path == "/v1/models":
                self._send_json(200, {"data": [], "has_more": False})
            else:
                self._send_json(404, error_json(404, f"no such path: {path}"))

        def do_POST(self) -> None:
            body = self._read_body()
            self._record(body)
            path = self.path.split("?")[0]
            if not isinstance(body, dict):
                self._send_json(400, error_json(400, "request body is not a JSON object"))
            elif path == "/v1/messages/count_tokens":
                size = len(json.dumps(body.get("messages", [])))
                self._send_json(200, {"input_tokens": max(1, size // 4)})
            elif path == "/v1/messages":
                self._answer_messages(body)
            else:
                self._send_json(404, error_json(404, f"no such path: {path}"))

        def _answer_messages(self, body: dict[str, Any]) -> None:
            reply = fake.reply_for(body)
            if reply.delay_s and fake._closing.wait(reply.delay_s):
                return
            if reply.error_status is not None:
                self._send_json(
                    reply.error_status, error_json(reply.error_status, reply.error_message)
                )
                return
            if not body.get("stream"):
                self._send_json(200, message_json(reply, body))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.send_header("request-id", "req_fake")
            self.end_headers()
            self.close_connection = True
            for name, data in sse_events(reply, body):
                self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

    return Handler


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass (for tests on the log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
