"""`orchestrator-tui agents [-C DIR] [--probe] [--json]`: the agent profiles, and the agent
programs this build knows, found or missing on PATH.

For each profile of the workspace's config: its backend, the program it runs (found on
PATH, with the profile's own PATH when it sets one, or "not found") and, for the known
agent CLIs only, what `<program> --version` answers within a few seconds. Then every agent
program the orchestrator knows (claude, codex, gemini, aider and the ACP agents
claude-agent-acp, codex-acp, `gemini --acp`), found or missing on PATH, with the path.

What is run, and what never is (a listing must not surprise):
- `--version` is asked only of the known CLIs — a profile of backend claude, codex, gemini
  or aider, and the programs of those names found on PATH — whose `--version` prints a
  line and exits;
- a `command` profile's program (`command = [...]`: it may be anything) and a shell
  profile's are never started; nor are the ACP adapters;
- an ACP profile (`backend = "acp"`) is started only with `--probe`, which sends it
  `initialize` and shows its answer in one line (name, version, session capabilities, auth
  methods).
Exit 0 when the default profile can run, 1 when it cannot (so scripts can check a machine
before a run), 2 for a bad config.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from ..agents.programs import DEFAULT_PROGRAMS, locate, program_of
from ..agents.runner import find_executable, merged_env
from ..core.config import AgentProfile, Config, ConfigError, load_config

VERSION_TIMEOUT = 5.0
INITIALIZE_TIMEOUT = 30.0
VERSIONED_BACKENDS = frozenset(DEFAULT_PROGRAMS)  # their --version is safe to ask
NOT_RUN = "not run (a command profile's program is never started by `agents`)"


@dataclass(frozen=True)
class KnownProgram:
    """An agent program this build knows: what it is, and whether --version may be asked."""

    name: str  # the row's name, e.g. "gemini --acp"
    program: str  # what is looked up on PATH
    what: str
    versioned: bool


KNOWN_PROGRAMS: tuple[KnownProgram, ...] = (
    KnownProgram("claude", "claude", "Claude Code (backend claude)", True),
    KnownProgram("codex", "codex", "Codex CLI (backend codex)", True),
    KnownProgram("gemini", "gemini", "Gemini CLI (backend gemini)", True),
    KnownProgram("aider", "aider", "aider (backend aider)", True),
    KnownProgram(
        "claude-agent-acp", "claude-agent-acp", "ACP adapter for Claude Code (backend acp)", False
    ),
    KnownProgram("codex-acp", "codex-acp", "ACP adapter for Codex (backend acp)", False),
    KnownProgram("gemini --acp", "gemini", "Gemini CLI as an ACP agent (backend acp)", False),
)


@dataclass(frozen=True)
class ProfileInfo:
    name: str
    backend: str
    program: str
    path: str
    version: str
    default: bool

    @property
    def runnable(self) -> bool:
        return bool(self.path)


@dataclass(frozen=True)
class ProgramInfo:
    name: str
    what: str
    path: str  # "" when missing
    version: str


class Versions:
    """`--version` answers, each program asked at most once per listing."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: dict[str, str] = {}

    def of(self, path: str, env: dict[str, str], cwd: Path) -> str:
        key = os.path.realpath(path)
        with self.lock:
            if key in self.answers:
                return self.answers[key]
        answer = probe_version(path, env, cwd)
        with self.lock:
            return self.answers.setdefault(key, answer)


def probe_version(path: str, env: dict[str, str], cwd: Path) -> str:
    """The first line `path --version` prints, or why there is none."""
    try:
        done = subprocess.run(
            [path, "--version"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=VERSION_TIMEOUT,
            start_new_session=True,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"no answer to --version within {VERSION_TIMEOUT:g} s"
    except OSError as exc:
        return f"cannot run it: {exc.strerror or exc}"
    lines = [line.strip() for line in (done.stdout or done.stderr).splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if done.returncode != 0:
        return f"--version failed (exit {done.returncode}){': ' + first if first else ''}"
    return first or "?"


def inspect(
    name: str,
    profile: AgentProfile,
    config: Config,
    workspace: Path,
    probe: bool = False,
    versions: Versions | None = None,
) -> ProfileInfo:
    program = program_of(profile)
    is_default = name == config.agents.default
    if profile.backend == "simulated":
        return ProfileInfo(name, "simulated", "(built in)", "built in", "-", is_default)
    if not program:
        return ProfileInfo(
            name, profile.backend, "(the task's run: line)", "per task", "-", is_default
        )
    env = merged_env(profile.env)
    path = locate(workspace, name, profile).path  # as the preflight at the parallel gate
    if not path:
        version = "-"
    elif profile.backend == "acp":
        version = acp_answer(profile, env, workspace, path, probe)
    elif profile.backend in VERSIONED_BACKENDS:
        version = (versions or Versions()).of(path, env, workspace)
    elif profile.backend == "command":
        version = NOT_RUN
    else:
        version = "-"
    return ProfileInfo(name, profile.backend, program, path, version, is_default)


def acp_answer(
    profile: AgentProfile, env: dict[str, str], cwd: Path, path: str, probe: bool
) -> str:
    if not probe:
        return "ACP (--probe: its answer to initialize)"
    from ..agents.acp_probe import probe_initialize

    argv = [path, *(profile.command[1:] if profile.command else []), *profile.args]
    return probe_initialize(argv, env, cwd, INITIALIZE_TIMEOUT)


def describe_profiles(
    config: Config, workspace: Path, probe: bool = False, versions: Versions | None = None
) -> list[ProfileInfo]:
    profiles = config.agents.profiles
    versions = versions or Versions()
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(profiles)))) as pool:
        futures = [
            pool.submit(inspect, name, profile, config, workspace, probe, versions)
            for name, profile in profiles.items()
        ]
        return [future.result() for future in futures]


def describe_programs(workspace: Path, versions: Versions | None = None) -> list[ProgramInfo]:
    """Every known agent program, found or missing on this process's PATH; only the known
    CLIs are asked for --version (never the ACP adapters)."""
    env = dict(os.environ)
    versions = versions or Versions()

    def one(known: KnownProgram) -> ProgramInfo:
        path = find_executable(known.program, env, workspace) or ""
        if not path:
            version = "-"
        elif known.versioned:
            version = versions.of(path, env, workspace)
        else:
            version = "not run"
        return ProgramInfo(known.name, known.what, path, version)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, KNOWN_PROGRAMS))


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace)
    as_json = bool(getattr(args, "json", False))
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    try:
        config = load_config(workspace)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    root = workspace.resolve()
    versions = Versions()
    infos = describe_profiles(config, root, bool(getattr(args, "probe", False)), versions)
    programs = describe_programs(root, versions)
    default = next((i for i in infos if i.default), None)
    if default is None:  # a default that names a bare backend, not a profile
        name, profile = config.agents.profile(None)
        default = inspect(name, profile, config, root, versions=versions)
    if as_json:
        print(json.dumps(as_document(infos, programs, default), indent=2))
    else:
        print_profiles(infos)
        print_programs(programs)
    if not default.runnable:
        print(
            f"The default profile {default.name!r} cannot run: {default.program} not found. "
            f"Install it or set agents.{default.name}.executable in .orchestrator/config.toml.",
            file=sys.stderr,
        )
        return 1
    return 0


def as_document(
    infos: list[ProfileInfo], programs: list[ProgramInfo], default: ProfileInfo
) -> dict[str, object]:
    return {
        "default": default.name,
        "runnable": default.runnable,
        "profiles": [{**asdict(info), "runnable": info.runnable} for info in infos],
        "programs": [{**asdict(p), "found": bool(p.path)} for p in programs],
    }


def print_profiles(infos: list[ProfileInfo]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Agent profiles")
    for column in ("profile", "backend", "program", "found at", "version"):
        table.add_column(column, overflow="fold")
    for info in infos:
        name = f"{info.name} [bold](default)[/]" if info.default else info.name
        found = info.path or "[bold red]not found[/]"
        table.add_row(name, info.backend, info.program, found, info.version)
    Console().print(table)


def print_programs(programs: list[ProgramInfo]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Agent programs on PATH")
    for column in ("program", "what", "found at", "version"):
        table.add_column(column, overflow="fold")
    for info in programs:
        found = info.path or "[bold red]missing[/]"
        table.add_row(info.name, info.what, found, info.version)
    Console().print(table)
