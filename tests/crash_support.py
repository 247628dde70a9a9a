"""Fault injection for the crash tests and bench/crash_sweep.py: a `git` wrapper first on PATH
that SIGKILLs the orchestrator's process group before or after its Nth git command, runs of
the orchestrator in a group of their own, and what "the same result" means.

The wrapper counts every git command of the runs that share its counter file (one line per
command in CRASH_GIT_LOG: the subcommand), so a first uninterrupted run lists the kill
points and a later run is killed at one of them (CRASH_GIT_AT=N, CRASH_GIT_WHEN=before|after).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.store import RunFiles, latest_run_id, load_run, read_events

CLI = [sys.executable, "-m", "orchestrator_tui"]
WRAPPER = """#!/bin/sh
# the orchestrator-tui crash tests' git: count, maybe SIGKILL the caller's group, run git
exec 9>>"$CRASH_GIT_DIR/lock"
flock 9
n=$(( $(cat "$CRASH_GIT_DIR/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$CRASH_GIT_DIR/count"
sub=""
skip=0
for arg in "$@"; do
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  case "$arg" in
    -c|-C) skip=1 ;;
    -*) ;;
    *) sub="$arg"; break ;;
  esac
done
echo "$n $sub" >> "$CRASH_GIT_DIR/log"
flock -u 9
exec 9>&-
group=$(cut -d')' -f2- /proc/$$/stat | cut -d' ' -f4)
if [ "$n" = "${CRASH_GIT_AT:-0}" ] && [ "$CRASH_GIT_WHEN" = before ]; then
  kill -9 "-$group"
fi
"$CRASH_REAL_GIT" "$@"
rc=$?
if [ "$n" = "${CRASH_GIT_AT:-0}" ] && [ "$CRASH_GIT_WHEN" = after ]; then
  kill -9 "-$group"
fi
exit $rc
"""


def git_wrapper(folder: Path) -> dict[str, str]:
    """Install the wrapper in `folder`/bin; returns the environment that puts it first on
    PATH (CRASH_GIT_AT and CRASH_GIT_WHEN are added per run)."""
    real = shutil.which("git")
    assert real is not None, "git is needed"
    (folder / "bin").mkdir(parents=True, exist_ok=True)
    script = folder / "bin" / "git"
    script.write_text(WRAPPER, encoding="utf-8")
    script.chmod(0o755)
    return {
        "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "CRASH_GIT_DIR": str(folder),
        "CRASH_REAL_GIT": real,
    }


def git_calls(folder: Path) -> list[str]:
    """The subcommands counted so far, in order (index 0 is call 1)."""
    try:
        lines = (folder / "log").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.partition(" ")[2] for line in lines]


def reset_count(folder: Path) -> None:
    for name in ("count", "log"):
        with contextlib.suppress(OSError):
            (folder / name).unlink()


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "200"}
    env.update(extra)
    return env


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A run in a session of its own: killing its group is a crash of the orchestrator."""
    return subprocess.Popen(
        [*CLI, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=env, start_new_session=True,
    )  # fmt: skip


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait(process: subprocess.Popen[bytes], timeout: float = 300) -> tuple[int, str]:
    try:
        _, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise
    return process.returncode, err.decode(errors="replace")


def resume(workspace: Path, env: dict[str, str], timeout: float = 300) -> tuple[int, str]:
    argv = ["run", "--headless", "--resume", "--approve", "all", "-C", str(workspace)]
    return wait(start(argv, env), timeout)


def processes_in(workspace: Path) -> list[int]:
    """Live processes whose working directory is inside the workspace (agents, tools)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and (cwd == workspace or workspace in cwd.parents):
            found.append(int(entry.name))
    return found


def no_processes_left(workspace: Path, within: float = 15) -> list[int]:
    deadline = time.monotonic() + within
    while processes_in(workspace) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes_in(workspace)


def lifelines_of(pid: int) -> list[int]:
    """The lifeline watchdogs (agents/lifeline.py) process `pid` started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = entry.joinpath("cmdline").read_bytes().split(b"\0")
            if ppid == pid and any(a.endswith(b"lifeline.py") for a in argv):
                found.append(int(entry.name))
    return found


def git(workspace: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=workspace, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


@dataclass(frozen=True)
class Result:
    """What must be identical between an uninterrupted run and a crashed, resumed one."""

    outcome: str
    tree: str  # the tree of the user's branch after complete
    statuses: tuple[tuple[str, str], ...]
    finished: tuple[tuple[str, int], ...]  # how often each task finished done (once each)
    costs: tuple[tuple[str, str], ...]  # each task's cost, counted once per attempt that ran
    cost: str

    def differences(self, other: Result) -> list[str]:
        return [
            f"{name}: {getattr(self, name)!r} != {getattr(other, name)!r}"
            for name in self.__dataclass_fields__
            if getattr(self, name) != getattr(other, name)
        ]


def result(workspace: Path) -> Result:
    run_id = latest_run_id(workspace)
    assert run_id, f"no run in {workspace}"
    files = RunFiles(workspace, run_id)
    state, _ = load_run(files)
    done = Counter(
        e.task
        for e in read_events(files.events).events
        if isinstance(e, ev.TaskFinished) and e.status == "done"
    )
    return Result(
        outcome=state.outcome,
        tree=git(workspace, "rev-parse", "HEAD^{tree}"),
        statuses=tuple(sorted((t, s.status.value) for t, s in state.tasks.items())),
        finished=tuple(sorted(done.items())),
        costs=tuple(sorted((t, f"{s.cost_usd:.4f}") for t, s in state.tasks.items())),
        cost=f"{state.cost_usd:.4f}",
    )
