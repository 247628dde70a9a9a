"""The files a task changed where there is no git to ask: a manifest of the workspace
(path → size, mtime, hash) taken when the task starts and again when it finishes.

ManifestWorkspace is the TaskIsolation of a workspace without worktrees (not a repository,
or `run.isolation = "none"`): every task works in the workspace itself, and its MergeResult
names the files that appeared, changed or went away while it ran, so that security, cleanup
and review see them although no backend reported them. The "before" manifest is kept in the
run directory, so a resumed run still finds it: each distinct manifest once, named by its
digest, and a line per start in `manifests/index.jsonl` (task → digest) — not a file per
task, since tasks that start from the same workspace share one.

Parallel tasks share the workspace: a file another task changed meanwhile is counted for
both (the overlap guard keeps declared files apart, so this is rare and errs on the side
of scanning more). For the same reason tasks that start within SHARE_SECONDS of a look at
the files share it, and a task that finished shares a look begun after its agent's exit
was seen: an engine turn that starts or finishes several tasks walks the workspace once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import weakref
from pathlib import Path

from ..core.models import Task
from ..core.protocols import MergeResult, SharedWorkspace
from .fsutil import DiskError, atomic_write, describe_os_error
from .store import RunFiles

SKIP_DIRS = frozenset(
    {".git", ".orchestrator", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache"}
)
SKIP_DIRS_SUFFIX = (".egg-info",)
HASH_LIMIT = 32 * 1024 * 1024  # larger files are compared by size and mtime only

Entry = tuple[int, int, str]  # size, mtime_ns, sha256 ('' above HASH_LIMIT)


def take_manifest(root: Path, previous: dict[str, Entry] | None = None) -> dict[str, Entry]:
    """Every file under `root` (POSIX relative paths; links to folders are not followed, as
    os.walk does not). A file whose size and mtime match `previous` keeps its hash without
    being read again. os.scandir, not os.walk and Path: one walk per task start and end."""
    found: dict[str, Entry] = {}
    old = previous or {}
    folders = [(os.fspath(root), "")]
    while folders:
        folder, prefix = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            name = entry.name
            try:
                if entry.is_dir():
                    if not (entry.is_symlink() or skipped(name)):
                        folders.append((entry.path, f"{prefix}{name}/"))
                    continue
                stat = entry.stat()
            except OSError:
                continue
            relative = prefix + name
            known = old.get(relative)
            if known is not None and known[:2] == (stat.st_size, stat.st_mtime_ns):
                found[relative] = known
            else:
                hashed = file_hash(Path(entry.path), stat.st_size)
                found[relative] = (stat.st_size, stat.st_mtime_ns, hashed)
    return found


def skipped(folder: str) -> bool:
    return folder in SKIP_DIRS or folder.endswith(SKIP_DIRS_SUFFIX)


def file_hash(path: Path, size: int) -> str:
    if size > HASH_LIMIT:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def compare(before: dict[str, Entry], after: dict[str, Entry]) -> tuple[str, ...]:
    """Paths added, changed (by hash, or by size and mtime when unhashed) or removed."""
    changed = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old is None or new is None:
            changed.append(name)
        elif old[2] and new[2]:
            if old[2] != new[2]:
                changed.append(name)
        elif old[:2] != new[:2]:
            changed.append(name)
    return tuple(changed)


class ManifestWorkspace(SharedWorkspace):
    """No isolation, but the files each task changed are found by manifests."""

    SHARE_SECONDS = 0.01

    def __init__(self, workspace: Path, run_id: str) -> None:
        super().__init__(workspace)
        self.folder = RunFiles(workspace, run_id).dir / "manifests"
        self.index = self.folder / "index.jsonl"
        self.index_fd: int | None = None
        self.saved: tuple[str, dict[str, Entry] | None] = ("", None)  # the last one written
        self.last: dict[str, Entry] = {}  # the newest manifest: unchanged files not read again
        self.last_at = float("-inf")  # when its walk began (monotonic)
        self.before: dict[str, dict[str, Entry]] = {}  # this process's; the disk's after a restart

    def look(self, begun_after: float, hint: dict[str, Entry] | None = None) -> dict[str, Entry]:
        """The newest manifest, walked anew unless that walk began after `begun_after`."""
        if self.last_at <= begun_after:
            self.last_at = time.monotonic()
            self.last = take_manifest(self.workspace, {**self.last, **hint} if hint else self.last)
        return self.last

    def prepare(self, task: Task, attempt: int) -> Path:
        manifest = self.before[task.id] = self.look(time.monotonic() - self.SHARE_SECONDS)
        self.save(task, manifest)
        return self.workspace

    def save(self, task: Task, manifest: dict[str, Entry]) -> None:
        """For a later process (not fsynced: a rerun takes it again)."""
        digest, saved = self.saved
        if manifest != saved:
            text = json.dumps(manifest, sort_keys=True)
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
            atomic_write(self.folder / f"{digest}.json", text, durable=False)
            self.saved = (digest, manifest)
        line = json.dumps({"task": task.id, "manifest": digest}) + "\n"
        try:
            if self.index_fd is None:  # open while this isolation lives: a write per start
                self.index_fd = os.open(self.index, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                weakref.finalize(self, os.close, self.index_fd)
            os.write(self.index_fd, line.encode("utf-8"))
        except OSError as exc:
            raise DiskError(exc.errno, describe_os_error(exc, self.index)) from exc

    def finish(self, task: Task, ended_at: float | None = None) -> MergeResult:
        before = self.before.pop(task.id, None) or self.read(task)
        if before is None:
            return MergeResult(ok=True, message="no isolation (no manifest from the start)")
        after = self.look(time.monotonic() if ended_at is None else ended_at, hint=before)
        files = compare(before, after)
        return MergeResult(
            ok=True,
            files=files,
            message=f"no isolation: {len(files)} files changed in the workspace (manifest)",
        )

    def read(self, task: Task) -> dict[str, Entry] | None:
        """The manifest an earlier process took when the task started (a take-over's done
        after a restart), or None."""
        try:
            starts = [json.loads(line) for line in self.index.read_text("utf-8").splitlines()]
            digest = next(s["manifest"] for s in reversed(starts) if s["task"] == task.id)
            raw = json.loads((self.folder / f"{digest}.json").read_text(encoding="utf-8"))
            return {k: (int(v[0]), int(v[1]), str(v[2])) for k, v in raw.items()}
        except (OSError, ValueError, TypeError, LookupError, AttributeError, StopIteration):
            return None

    def discard(self, task: Task) -> None:
        self.before.pop(task.id, None)
