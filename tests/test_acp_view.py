"""ACP session updates and permission requests → lines, files, usage, queue fields (the
messages as claude-agent-acp 0.49, gemini 0.61 and codex-acp send them; docs/agent-clis.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator_tui.agents.acp_view import (
    AcpView,
    describe_permission,
    pick_option,
    prompt_tokens,
)

pytestmark = pytest.mark.timeout(10)
WORK = Path("/w")


def test_text_chunks_become_whole_lines_and_the_final_text_is_the_last_message() -> None:
    view = AcpView(WORK)
    chunk = {"sessionUpdate": "agent_message_chunk", "content": {"type": "text"}}
    assert (
        view.update({**chunk, "content": {"type": "text", "text": "I will "}, "messageId": "a"})
        == []
    )
    assert view.update(
        {**chunk, "content": {"type": "text", "text": "write.\nThen"}, "messageId": "a"}
    ) == ["I will write."]
    assert view.update(
        {**chunk, "content": {"type": "text", "text": "done"}, "messageId": "b"}
    ) == ["Then"]
    assert view.flush() == ["done"] and view.final_text() == "done"


def test_a_tool_call_is_one_line_once_its_input_is_known_and_edits_count_as_files() -> None:
    view = AcpView(WORK)
    meta = {"_meta": {"claudeCode": {"toolName": "Write"}}}
    start = {
        "sessionUpdate": "tool_call",
        "toolCallId": "t1",
        "title": "Write",
        "kind": "edit",
        "status": "pending",
        "rawInput": {},
        **meta,
    }
    assert view.update(start) == []
    more = {
        "sessionUpdate": "tool_call_update",
        "toolCallId": "t1",
        "rawInput": {"file_path": "/w/src/x.py", "content": "x"},
        **meta,
    }
    assert view.update(more) == ["▸ Write src/x.py"]
    assert (
        view.update(
            {"sessionUpdate": "tool_call_update", "toolCallId": "t1", "status": "completed"}
        )
        == []
    )
    assert view.files == ["src/x.py"]
    bash = {
        "sessionUpdate": "tool_call",
        "toolCallId": "t2",
        "kind": "execute",
        "title": "make",
        "rawInput": {"command": "make deploy"},
        "_meta": {"claudeCode": {"toolName": "Bash"}},
    }
    assert view.update(bash) == ["▸ Bash: make deploy"]
    failed = {
        "sessionUpdate": "tool_call_update",
        "toolCallId": "t2",
        "status": "failed",
        "content": [
            {"type": "content", "content": {"type": "text", "text": "```\nExit code 2\n```"}}
        ],
    }
    assert view.update(failed) == ["  ✗ Exit code 2"]


def test_plan_entries_show_when_they_change_and_cost_is_reported_as_increments() -> None:
    view = AcpView(WORK)
    plan = [
        {"content": "write tests", "priority": "high", "status": "pending"},
        {"content": "fix", "priority": "low", "status": "pending"},
    ]
    assert view.update({"sessionUpdate": "plan", "entries": plan}) == ["☐ write tests", "☐ fix"]
    plan[0] = {**plan[0], "status": "completed"}
    assert view.update({"sessionUpdate": "plan", "entries": plan}) == ["✓ write tests"]
    view.update(
        {
            "sessionUpdate": "usage_update",
            "used": 1,
            "size": 9,
            "cost": {"amount": 0.25, "currency": "USD"},
        }
    )
    assert view.cost_increment() == 0.25
    view.update(
        {
            "sessionUpdate": "usage_update",
            "used": 1,
            "size": 9,
            "cost": {"amount": 0.5, "currency": "USD"},
        }
    )
    assert view.cost_increment() == 0.25 and view.cost_increment() == 0.0


def test_prompt_tokens_from_acp_usage_and_from_gemini_quota() -> None:
    usage = {"inputTokens": 240, "outputTokens": 60, "cachedReadTokens": 10, "cachedWriteTokens": 5}
    assert prompt_tokens({"stopReason": "end_turn", "usage": usage}) == (255, 60)
    quota = {"quota": {"token_count": {"input_tokens": 10, "output_tokens": 3}}}
    assert prompt_tokens({"stopReason": "end_turn", "_meta": quota}) == (10, 3)
    assert prompt_tokens({"stopReason": "end_turn"}) == (0, 0)


CLAUDE_OPTIONS = [
    {
        "kind": "allow_always",
        "name": "Always Allow Bash(make deploy *)",
        "optionId": "allow_always",
    },
    {"kind": "allow_once", "name": "Allow", "optionId": "allow"},
    {"kind": "reject_once", "name": "Reject", "optionId": "reject"},
]
CODEX_OPTIONS = [
    {"kind": "allow_once", "name": "Yes", "optionId": "approved"},
    {"kind": "reject_once", "name": "No", "optionId": "abort"},
]
GEMINI_OPTIONS = [
    {"kind": "allow_once", "name": "Allow", "optionId": "proceed_once"},
    {"kind": "allow_always", "name": "Always", "optionId": "proceed_always"},
    {"kind": "reject_once", "name": "Cancel", "optionId": "cancel"},
]


@pytest.mark.parametrize(
    ("options", "allow", "deny"),
    [
        (CLAUDE_OPTIONS, "allow", "reject"),
        (CODEX_OPTIONS, "approved", "abort"),
        (GEMINI_OPTIONS, "proceed_once", "cancel"),
    ],
)
def test_options_are_picked_by_kind_not_by_id(options, allow, deny) -> None:
    assert pick_option(options, "allow") == allow
    assert pick_option(options, "allow_session") == allow  # never the adapter's "always"
    assert pick_option(options, "deny") == deny


def test_no_reject_option_means_cancelled() -> None:
    assert pick_option([{"kind": "allow_once", "optionId": "ok"}], "deny") is None


def test_a_request_becomes_the_queue_fields() -> None:
    call = {
        "toolCallId": "t",
        "kind": "execute",
        "title": "make deploy",
        "rawInput": {"command": "make deploy"},
        "_meta": {"claudeCode": {"toolName": "Bash"}},
    }
    fields = describe_permission(call, CLAUDE_OPTIONS, WORK)
    assert fields == {
        "tool": "Bash",
        "summary": "make deploy",
        "detail": "",
        "subject": "make deploy",
        "options": ("allow", "allow_session", "deny"),
    }
    edit = {
        "toolCallId": "e",
        "kind": "edit",
        "title": "Write x.txt",
        "content": [{"type": "diff", "path": "/w/x.txt", "oldText": "a", "newText": "b"}],
    }
    fields = describe_permission(edit, CODEX_OPTIONS, WORK)
    assert (fields["tool"], fields["summary"], fields["detail"]) == ("edit", "x.txt", "-a\n+b")
    assert fields["options"] == ("allow", "allow_session", "deny")


def test_a_request_handled_before_its_tool_calls_update_is_named_by_the_update() -> None:
    """acp handles each message in a task of its own: on a busy machine the permission
    request ran before the update that names the tool ("Bash"), and the denial said
    "execute" (seen in CI). The request waits a few turns of the loop for it."""
    import asyncio

    from orchestrator_tui.agents.acp_asking import Asking

    class Bare(Asking):
        def __init__(self) -> None:
            self.view = AcpView(WORK)
            self.events = object()  # no `ask`: nobody to ask, the request is refused
            self.job = type("Job", (), {"workdir": WORK})()
            self.stopping, self.ended = "", False
            self.session_allowed: set[str] = set()
            self.denied: list[str] = []
            self.shown: list[str] = []

        def show(self, lines: list[str]) -> None:
            self.shown += lines

    run = Bare()
    update = {
        "sessionUpdate": "tool_call",
        "toolCallId": "c1",
        "kind": "execute",
        "status": "pending",
        "rawInput": {"command": "ls"},
        "_meta": {"claudeCode": {"toolName": "Bash"}},
    }
    options = [{"optionId": "no", "kind": "reject_once", "name": "Reject"}]

    async def notification() -> None:
        await asyncio.sleep(0)  # the library's own awaits before our handler runs
        await asyncio.sleep(0)
        run.view.update(update)

    async def both() -> None:
        later = asyncio.create_task(notification())
        call = {"toolCallId": "c1", "kind": "execute", "rawInput": {"command": "ls"}}
        await run.permission(call, options)
        await later

    asyncio.run(both())
    assert run.denied == ["Bash (ls)"]
