"""`orchestrator-tui clean [-C DIR] [--dry-run] [--all] [--include-conflicts]
[--include-unmerged]`: remove the worktrees and branches of finished and abandoned runs.

What goes and what stays is core/clean_plan.py (the latest run, conflicts and work that is
on none of your branches stay unless told); the facts and the removal are
infra/leftovers.py. `--dry-run` lists both and removes nothing. While a run holds the
workspace lock, clean refuses (exit 3); while it works it holds the lock itself, so no run
starts under it. Each removed branch is printed with its last commit, as `git branch -D`
does, so it can be brought back with `git branch NAME SHA`.

Exit 0 (also when there is nothing to clean), 1 when something could not be removed,
2 for a directory that does not exist, 3 when a run holds the workspace.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.clean_plan import CleanOptions, Leftover, plan_clean
from ..infra.git import GitError
from ..infra.leftovers import branch_facts, remove, run_facts, stray_directories
from ..infra.run_index import live_run
from ..infra.session import LockHeld, WorkspaceLock, read_lock
from ..infra.workspace import worktree_problem


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).expanduser().resolve()
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    problem = worktree_problem(workspace)
    if problem:
        print(f"nothing to clean: {problem}")
        return 0
    options = CleanOptions(
        everything=args.all, conflicts=args.include_conflicts, unmerged=args.include_unmerged
    )
    busy = busy_text(workspace)
    if args.dry_run:
        items = leftovers(workspace, options)
        print(render(workspace, items, dry_run=True), end="")
        if busy:
            print(f"{busy}: clean would refuse now.")
        return 0
    if busy:
        print(f"{busy}: clean refuses while it runs.", file=sys.stderr)
        return 3
    lock = WorkspaceLock(workspace, "clean")
    try:
        notice = lock.acquire()
    except LockHeld as exc:
        print(exc, file=sys.stderr)
        return 3
    try:
        if notice:
            print(notice)
        items = leftovers(workspace, options)
        removed = remove(workspace, list(items))
    except GitError as exc:
        print(f"clean: {exc}", file=sys.stderr)
        return 1
    finally:
        lock.release()
    failed = [done for done in removed if done.error]
    for done in removed:
        if done.error:
            print(
                f"could not remove {describe(workspace, done.item)}: {done.error}", file=sys.stderr
            )
        else:
            print(removed_line(workspace, done.item))
    print(render(workspace, items, dry_run=False), end="")
    if failed:
        print(f"removed {len(removed) - len(failed)} of {len(removed)}")
    elif removed:
        print(f"removed {len(removed)}; the runs' logs and reports stay in .orchestrator/runs/")
    elif items:
        print("nothing removed")
    return 1 if failed else 0


def busy_text(workspace: Path) -> str:
    run_id = live_run(workspace)
    if not run_id:
        return ""
    holder = read_lock(workspace)
    pid = f"pid {holder.pid}, " if holder else ""
    return f"run {run_id} holds the workspace ({pid}see `orchestrator-tui runs`)"


def leftovers(workspace: Path, options: CleanOptions) -> tuple[Leftover, ...]:
    return plan_clean(
        run_facts(workspace), branch_facts(workspace), stray_directories(workspace), options
    )


def shown(workspace: Path, path: str) -> str:
    try:
        return str(Path(path).relative_to(workspace))
    except ValueError:
        return path


def describe(workspace: Path, item: Leftover) -> str:
    if item.kind == "directory":
        return f"directory {shown(workspace, item.name)}"
    text = f"branch {item.name} ({item.tip[:10]})"
    if item.worktree:
        text += f" and worktree {shown(workspace, item.worktree)}{uncommitted(item)}"
    return text


def uncommitted(item: Leftover) -> str:
    count = item.uncommitted
    return f" ({count} uncommitted file{'s' * (count != 1)})" if count else ""


def render(workspace: Path, items: tuple[Leftover, ...], dry_run: bool) -> str:
    """The listing: what would go (a dry run only; a real run prints each removal) and
    what stays, each with why."""
    if not items:
        return "nothing to clean: no worktrees or branches of runs\n"
    going = [i for i in items if i.remove]
    staying = [i for i in items if not i.remove]
    lines = []
    if dry_run and going:
        lines.append("would remove:")
        lines += [f"  {describe(workspace, i)}: {i.why}" for i in going]
    if staying:
        lines.append("keeps:")
        lines += [f"  {describe(workspace, i)}: {i.why}" for i in staying]
    if dry_run:
        lines.append(
            f"run without --dry-run to remove these {len(going)}." if going
            else "nothing would be removed."
        )  # fmt: skip
    return "\n".join(lines) + "\n"


def removed_line(workspace: Path, item: Leftover) -> str:
    if item.kind == "directory":
        return f"removed directory {shown(workspace, item.name)}"
    worktree = ""
    if item.worktree:
        worktree = f" and worktree {shown(workspace, item.worktree)}{uncommitted(item)}"
    return f"removed branch {item.name} (was {item.tip[:10]}){worktree}: {item.why}"
