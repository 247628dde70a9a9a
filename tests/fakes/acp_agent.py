"""A tiny ACP agent (the acp package's agent side) for tests of the backend's own clocks and
ends, where the real adapters are too slow to start or cannot be made to misbehave.

On each prompt it sends one text chunk, then asks for `Bash` with the command from the
prompt's `ASK: command` line (if any) and waits for the answer; `SLEEP: seconds` sleeps
before ending the turn; `EXIT` makes it exit mid-turn. Run: python acp_agent.py
"""

from __future__ import annotations

import asyncio
import re
import sys
from typing import Any

import acp
from acp.schema import (
    AgentMessageChunk,
    InitializeResponse,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    TextContentBlock,
    ToolCallUpdate,
)


class FakeAgent:
    def __init__(self) -> None:
        self.conn: Any = None

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(protocol_version=protocol_version)

    async def new_session(self, cwd: str, **kwargs: Any) -> NewSessionResponse:
        return NewSessionResponse(session_id="fake-session-1")

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        text = " ".join(getattr(block, "text", "") for block in prompt)
        await self.conn.session_update(
            session_id,
            AgentMessageChunk(
                session_update="agent_message_chunk",
                content=TextContentBlock(type="text", text="working\n"),
            ),
        )
        if "EXIT" in text:
            sys.exit(3)
        ask = re.search(r"ASK: (.+)", text)
        if ask:
            answer = await self.conn.request_permission(
                options=[
                    PermissionOption(option_id="yes", name="Allow", kind="allow_once"),
                    PermissionOption(option_id="no", name="Reject", kind="reject_once"),
                ],
                session_id=session_id,
                tool_call=ToolCallUpdate(
                    tool_call_id="call-1",
                    title=ask.group(1),
                    kind="execute",
                    raw_input={"command": ask.group(1)},
                ),
            )
            outcome = answer.outcome
            said = getattr(outcome, "option_id", "cancelled")
            await self.conn.session_update(
                session_id,
                AgentMessageChunk(
                    session_update="agent_message_chunk",
                    content=TextContentBlock(type="text", text=f"answer {said}\n"),
                ),
            )
        sleep = re.search(r"SLEEP: ([0-9.]+)", text)
        if sleep:
            await asyncio.sleep(float(sleep.group(1)))
        return PromptResponse(stop_reason="end_turn")

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        return None


if __name__ == "__main__":
    asyncio.run(acp.run_agent(FakeAgent()))
