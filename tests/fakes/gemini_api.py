"""A loopback stand-in for the Gemini API (generativelanguage v1beta), for running the real
Gemini CLI (`gemini --acp`) offline with GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:PORT.

Stateless like the Anthropic stand-in, and driven by the same markers in the latest prompt
(see anthropic_api.py): ``WRITE_FILE: path`` (with ``CONTENT: …``) answers a ``write_file``
call, ``BASH: command`` a ``run_shell_command`` call, ``REPLY: text`` the final text; the turn
is the number of ``model`` contents after the latest user text. Paths are made absolute with
the workspace directory the CLI states in its session context.

Endpoints (as observed with Gemini CLI 0.61): ``models/M:streamGenerateContent?alt=sse`` (the
agent loop: Server-Sent Events, one ``data:`` chunk per reply), ``models/M:generateContent``
(side requests: the model router's classifier and the next-speaker check, answered with one
JSON object that satisfies both), ``models/M:countTokens``.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:
    from fakes.anthropic_api import FINAL_TEXT, parse_markers
except ModuleNotFoundError:  # pragma: no cover - depends on the test layout
    from tests.fakes.anthropic_api import FINAL_TEXT, parse_markers

INPUT_TOKENS = 100
OUTPUT_TOKENS = 20
_WORKSPACE = re.compile(r"\*\*Workspace Directories:\*\*\s*\n\s*-\s*(\S+)")
SIDE_ANSWER = {
    "complexity_reasoning": "A simple, scripted task.",
    "complexity_score": 10,
    "reasoning": "The model has answered; the user speaks next.",
    "next_speaker": "user",
}


def _texts(content: dict[str, Any]) -> list[str]:
    return [
        str(p["text"]) for p in content.get("parts") or [] if isinstance(p, dict) and "text" in p
    ]


def _is_prompt(content: dict[str, Any]) -> bool:
    own = [t for t in _texts(content) if not t.lstrip().startswith("<session_context>")]
    return content.get("role") == "user" and bool(own)


def prompt_text(body: dict[str, Any]) -> str:
    contents = body.get("contents") or []
    for content in reversed(contents):
        if _is_prompt(content):
            own = [t for t in _texts(content) if not t.lstrip().startswith("<session_context>")]
            return "\n".join(own)
    return ""


def turn_number(body: dict[str, Any]) -> int:
    contents = body.get("contents") or []
    start = max((i for i, c in enumerate(contents) if _is_prompt(c)), default=0)
    return sum(1 for c in contents[start:] if c.get("role") == "model")


def workspace(body: dict[str, Any]) -> str:
    text = "\n".join(t for c in body.get("contents") or [] for t in _texts(c))
    match = _WORKSPACE.search(text)
    return match.group(1) if match else ""


def reply_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    markers = parse_markers(prompt_text(body))
    calls = []
    root = workspace(body).rstrip("/")
    for path, content in markers.files:
        target = path if path.startswith("/") or not root else f"{root}/{path}"
        calls.append({"name": "write_file", "args": {"file_path": target, "content": content}})
    if markers.bash:
        calls.append(
            {
                "name": "run_shell_command",
                "args": {"command": markers.bash, "description": "Run the requested command"},
            }
        )
    if calls and turn_number(body) == 0:
        names = ", ".join(call["name"] for call in calls)
        return [{"text": f"I will use {names}."}, *({"functionCall": c} for c in calls)]
    final = markers.reply if markers.reply is not None else FINAL_TEXT
    return [{"text": final}]


def chunk(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
        ],
        "usageMetadata": {
            "promptTokenCount": INPUT_TOKENS,
            "candidatesTokenCount": OUTPUT_TOKENS,
            "totalTokenCount": INPUT_TOKENS + OUTPUT_TOKENS,
        },
        "modelVersion": "gemini-fake",
    }


class FakeGemini:
    """``with FakeGemini() as api:`` serves on 127.0.0.1; ``api.url`` is the base URL."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, Any]] = []  # (path, body)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def agent_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return [body for path, body in self.requests if ":streamGenerateContent" in path]

    def __enter__(self) -> FakeGemini:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(fake: FakeGemini) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self.send_json({})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            with fake.lock:
                fake.requests.append((self.path, body))
            if ":streamGenerateContent" in self.path:
                data = b"data: " + json.dumps(chunk(reply_parts(body))).encode() + b"\r\n\r\n"
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif ":generateContent" in self.path:
                self.send_json(chunk([{"text": json.dumps(SIDE_ANSWER)}]))
            elif ":countTokens" in self.path:
                self.send_json({"totalTokens": INPUT_TOKENS})
            else:
                self.send_json({})

        def send_json(self, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
