"""`orchestrator-tui agents [-C DIR]`: the agent profiles, their programs and versions.

For each profile of the workspace's config: its backend, the program it runs (found on
PATH, with the profile's own PATH when it sets one, or "not found") and what
`<program> --version` answers within a few seconds. Exit 0 when the default profile can
run, 1 when it cannot (so scripts can check a machine before a run), 2 for a bad config.

ACP profiles (`backend = "acp"`) are not run with `--version` (an ACP agent waits on its
stdin); `--probe` starts each one, sends `initialize` and shows its answer in one line
(name, version, session capabilities, auth methods).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..agents.runner import find_executable, merged_env
from ..core.config import AgentProfile, Config, ConfigError, load_config

VERSION_TIMEOUT = 5.0
INITIALIZE_TIMEOUT = 30.0
DEFAULT_PROGRAMS = {"claude": "claude", "codex": "codex", "gemini": "gemini", "aider": "aider"}


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


def program_of(profile: AgentProfile) -> str:
    """The program a profile runs ("" when it runs none of its own)."""
    if profile.backend == "command":
        return profile.executable or (profile.command[0] if profile.command else "")
    if profile.backend == "shell":
        return profile.executable or ("/bin/sh" if profile.shell else "")
    if profile.backend == "acp":
        return profile.command[0] if profile.command else profile.executable
    return profile.executable or DEFAULT_PROGRAMS.get(profile.backend, "")


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
    name: str, profile: AgentProfile, config: Config, workspace: Path, probe: bool = False
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
    path = find_executable(program, env, workspace) or ""
    if profile.backend == "acp":
        version = acp_answer(profile, env, workspace, path, probe)
    else:
        version = probe_version(path, env, workspace) if path else "-"
    return ProfileInfo(name, profile.backend, program, path, version, is_default)


def acp_answer(
    profile: AgentProfile, env: dict[str, str], cwd: Path, path: str, probe: bool
) -> str:
    if not path:
        return "-"
    if not probe:
        return "ACP (--probe: its answer to initialize)"
    from ..agents.acp_probe import probe_initialize

    argv = [path, *(profile.command[1:] if profile.command else []), *profile.args]
    return probe_initialize(argv, env, cwd, INITIALIZE_TIMEOUT)


def describe_profiles(config: Config, workspace: Path, probe: bool = False) -> list[ProfileInfo]:
    profiles = config.agents.profiles
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(profiles)))) as pool:
        futures = [
            pool.submit(inspect, name, profile, config, workspace, probe)
            for name, profile in profiles.items()
        ]
        return [future.result() for future in futures]


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace)
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    try:
        config = load_config(workspace)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    infos = describe_profiles(config, workspace.resolve(), bool(getattr(args, "probe", False)))
    print_profiles(infos)
    default = next((i for i in infos if i.default), None)
    if default is None:  # a default that names a bare backend, not a profile
        name, profile = config.agents.profile(None)
        default = inspect(name, profile, config, workspace.resolve())
    if not default.runnable:
        print(
            f"The default profile {default.name!r} cannot run: {default.program} not found. "
            f"Install it or set agents.{default.name}.executable in .orchestrator/config.toml.",
            file=sys.stderr,
        )
        return 1
    return 0


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
