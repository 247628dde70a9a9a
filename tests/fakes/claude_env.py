"""Find the real Claude Code CLI and build the environment that keeps it offline and isolated."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DUMMY_API_KEY = "sk-ant-api03-fake-key-for-offline-tests"


def claude_executable() -> str | None:
    """The real ``claude``: ``$ORCH_CLAUDE_BIN``, else ``<repo>/.tools``, else PATH; None if absent.

    The fake in ``tests/fakes/bin`` is never returned, even when that directory is on PATH.
    """
    override = os.environ.get("ORCH_CLAUDE_BIN")
    if override:
        return override if _is_executable(Path(override)) else None
    local = REPO_ROOT / ".tools" / "node_modules" / ".bin" / "claude"
    if _is_executable(local):
        return str(local)
    fake_dir = (Path(__file__).resolve().parent / "bin").resolve()
    search_path = os.pathsep.join(
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and Path(entry).resolve() != fake_dir
    )
    return shutil.which("claude", path=search_path)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def claude_env(api_url: str, home: str | os.PathLike[str]) -> dict[str, str]:
    """Environment for running the real CLI against the stand-in at ``api_url``.

    Only PATH (and the locale, for git) comes from the caller's environment: no real key,
    config or proxy setting can leak in, and everything the CLI writes lands under ``home``.
    """
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": os.fspath(home),
        "ANTHROPIC_BASE_URL": api_url,
        "ANTHROPIC_API_KEY": DUMMY_API_KEY,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    for name in ("LANG", "LC_ALL", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env
