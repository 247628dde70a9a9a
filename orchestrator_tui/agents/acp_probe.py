"""`orchestrator-tui agents --probe`: start an ACP agent, ask `initialize`, stop it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from .acp import STREAM_LIMIT
from .acp_asking import Client, error_text
from .acp_view import dump
from .base import clip
from .procgroup import ProcessGroup


def describe_initialize(info: dict[str, Any]) -> str:
    """An `initialize` answer in one line: "gemini-cli 0.61.0 · load, resume · auth: …"."""
    agent = info.get("agentInfo") or {}
    caps = info.get("agentCapabilities") or {}
    can = [name for name in ("loadSession",) if caps.get(name)]
    can += sorted((caps.get("sessionCapabilities") or {}).keys())
    meta = caps.get("_meta") or {}
    can += sorted(k for v in meta.values() if isinstance(v, dict) for k, on in v.items() if on)
    auth = [str(m.get("id")) for m in info.get("authMethods") or [] if isinstance(m, dict)]
    parts = [f"{agent.get('name', '?')} {agent.get('version', '')}".strip()]
    parts.append(", ".join(can) or "no session capabilities")
    if auth:
        parts.append("auth: " + ", ".join(auth))
    return " · ".join(parts)


def probe_initialize(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> str:
    """Start the agent, send `initialize`, stop its process group: its answer in one line
    (or why there is none). Only on request (`orchestrator-tui agents --probe`)."""

    async def probe() -> str:
        import acp

        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=cwd,
            env=env,
            start_new_session=True,
            limit=STREAM_LIMIT,
        )
        assert proc.stdin is not None and proc.stdout is not None
        conn = acp.connect_to_agent(Client(None), proc.stdin, proc.stdout)  # type: ignore[arg-type]
        try:
            init = await asyncio.wait_for(
                conn.initialize(protocol_version=acp.PROTOCOL_VERSION), timeout
            )
            return describe_initialize(dump(init))
        except TimeoutError:
            return f"no answer to initialize within {timeout:g} s"
        except Exception as exc:
            return f"initialize failed: {clip(error_text(exc), 160)}"
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 1.0)
            await asyncio.get_running_loop().run_in_executor(
                None, ProcessGroup(None, proc.pid).kill
            )
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(proc.wait(), 2.0)

    try:
        return asyncio.run(probe())
    except OSError as exc:
        return f"cannot run it: {exc.strerror or exc}"
