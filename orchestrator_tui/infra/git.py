"""Running git for the orchestrator: retried over transient failures, and git's crash
leftovers recovered.

A git killed mid-command (the orchestrator was SIGKILLed, the machine lost power) leaves
lock files behind: `index.lock`, `HEAD.lock`, `ORIG_HEAD.lock`, `packed-refs.lock`,
`config.lock`, `refs/heads/<branch>.lock`. Every later git command that needs the lock then
fails with "Unable to create '<path>.lock': File exists". `git()` recognises that message,
removes the lock when it is stale, and runs the command again:

- a lock file some live process holds open (git keeps its lock open while it works) is
  never removed, nor one younger than LOCK_MIN_AGE while any git process runs on this
  machine; the command is retried after a short wait instead;
- otherwise the lock is a leftover and is removed (RECOVERED records what was removed, for
  the stages to report).

`clear_stale_locks(repo)` does the same for every lock file of a repository at once (a
resume calls it before touching the run's checkouts).
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections import deque
from pathlib import Path

GIT_TIMEOUT = 120.0
RETRIES = 4
RETRY_DELAY = 0.25
LOCK_MIN_AGE = 2.0
IDENTITY = {
    "GIT_AUTHOR_NAME": "orchestrator-tui",
    "GIT_AUTHOR_EMAIL": "orchestrator-tui@localhost",
    "GIT_COMMITTER_NAME": "orchestrator-tui",
    "GIT_COMMITTER_EMAIL": "orchestrator-tui@localhost",
}
# Our commits and merges run no user hooks and ask for no signature.
QUIET_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false")
INHERITED_GIT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX")
LOCK_MESSAGE = re.compile(r"Unable to create '([^']+\.lock)': File exists")
# git's own top-level lock files (refs/**.lock are found by walking refs/)
TOP_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "packed-refs.lock", "config.lock")
WORKTREE_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "MERGE_HEAD.lock")

RECOVERED: deque[str] = deque(maxlen=100)


class GitError(RuntimeError):
    """A git command failed; the message names the command and git's own words."""


def git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in INHERITED_GIT_VARS}
    env.update(IDENTITY)
    env.update({"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true"})
    return env


def run_git(cwd: Path, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *QUIET_CONFIG, *args],
            cwd=cwd,
            env=git_env(),
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except NotADirectoryError:
        raise GitError(f"{cwd} is not a directory") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} took longer than {GIT_TIMEOUT:g} s") from None


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in `cwd`; a stale lock file is removed and the command run again (see the
    module docstring). Raises GitError when it fails and `check` is set."""
    for attempt in range(RETRIES + 1):
        done = run_git(cwd, args)
        if done.returncode == 0 or attempt == RETRIES:
            break
        found = LOCK_MESSAGE.search(done.stderr + done.stdout)
        if found is None:
            break
        if not clear_lock(Path(found.group(1))):
            time.sleep(RETRY_DELAY * (attempt + 1))  # a live git holds it: wait for it
    if check and done.returncode != 0:
        words = (done.stderr or done.stdout).strip().splitlines()
        detail = words[-1] if words else f"exit {done.returncode}"
        raise GitError(f"git {' '.join(args[:2])}: {detail}")
    return done


# ---- lock files ---------------------------------------------------------------------------


def open_paths() -> set[str] | None:
    """Every file some process of ours can see has open (Linux /proc); None where unknown."""
    proc = Path("/proc")
    if not (proc / "self" / "fd").is_dir():
        return None
    found: set[str] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                found.add(os.readlink(fd))
            except OSError:
                continue
    return found


def git_running() -> bool:
    """Whether any git process runs on this machine (that we can see)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip().startswith("git"):
                return True
        except OSError:
            continue
    return False


def lock_is_stale(path: Path, held: set[str] | None = None, busy: bool | None = None) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    held = open_paths() if held is None else held
    if held is None:  # cannot see who holds it: only an old one is a leftover
        return age > 600
    if str(path) in held or os.path.realpath(path) in held:
        return False
    if age >= LOCK_MIN_AGE:
        return True
    return not (git_running() if busy is None else busy)


def clear_lock(path: Path) -> bool:
    """Remove `path` when it is a stale git lock; True when it is gone."""
    if not path.exists():
        return True
    if not lock_is_stale(path):
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    RECOVERED.append(f"removed a stale git lock file {path}")
    return True


def common_dir(repo: Path) -> Path | None:
    done = run_git(repo, ("rev-parse", "--git-common-dir"))
    if done.returncode != 0:
        return None
    return (repo / done.stdout.strip()).resolve()


def lock_files(common: Path) -> list[Path]:
    """The lock files in a repository's git directory and its worktrees' directories."""
    found = [common / name for name in TOP_LOCKS]
    refs = common / "refs"
    if refs.is_dir():
        found += list(refs.rglob("*.lock"))
    worktrees = common / "worktrees"
    if worktrees.is_dir():
        for place in worktrees.iterdir():
            found += [place / name for name in WORKTREE_LOCKS]
    return [path for path in found if path.is_file()]


def clear_stale_locks(repo: Path) -> list[Path]:
    """Remove every stale lock file of the repository at `repo`; returns those removed."""
    common = common_dir(repo)
    if common is None:
        return []
    candidates = lock_files(common)
    if not candidates:
        return []
    held, busy = open_paths(), git_running()
    removed = []
    for path in candidates:
        if lock_is_stale(path, held, busy):
            try:
                path.unlink()
            except OSError:
                continue
            RECOVERED.append(f"removed a stale git lock file {path}")
            removed.append(path)
    return removed


def drain_recovered() -> list[str]:
    notes = list(RECOVERED)
    RECOVERED.clear()
    return notes
