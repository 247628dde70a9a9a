"""Small file-system primitives: atomic replace, and a clear error for a full or read-only disk."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

T = TypeVar("T")


class DiskError(OSError):
    """Writing state failed (disk full, read-only, permissions); the last good copy is intact."""


def describe_os_error(exc: OSError, path: Path | str) -> str:
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "not permitted (read-only or immutable)",
        errno.EDQUOT: "the disk quota is exceeded",
    }
    if isinstance(exc, DiskError):
        return exc.strerror or str(exc)
    return f"cannot write {path}: {reasons.get(exc.errno or 0, exc.strerror or str(exc))}"


def atomic_write(path: Path, text: str, durable: bool = True) -> None:
    """Replace `path` with `text` so that readers see the old or the new file, never half.
    `durable=False` skips the fsync, for files that can be rebuilt (snapshots)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise DiskError(exc.errno, describe_os_error(exc, path)) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with_suppressed_unlink(tmp)
        raise DiskError(exc.errno, describe_os_error(exc, path)) from exc


def write_file(path: Path, data: bytes) -> None:
    """Create or overwrite `path` (not atomic), making its folder only when it is missing:
    three system calls where the file's folder exists, for files written per agent start."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = in_its_folder(path, lambda: os.open(path, flags, 0o644))
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def open_append(path: Path) -> BinaryIO:
    """`path` opened to append bytes, its folder made only when it is missing."""
    return in_its_folder(path, lambda: path.open("ab"))


def in_its_folder(path: Path, opening: Callable[[], T]) -> T:
    """`opening()`, and again after making `path`'s folder if that was missing."""
    try:
        return opening()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return opening()


def with_suppressed_unlink(path: str | Path) -> None:
    with contextlib.suppress(OSError):  # the temp file may never have been created
        os.unlink(path)


def program_path(program: str, *roots: Path) -> str:
    """A program as the person meant it: a relative path with a directory
    (`.venv/bin/python`) names a file of their project, found in the first root that has it
    (a checkout of the run or the task, then the workspace, where untracked folders such as
    a virtualenv live); a bare name is looked up on PATH as it is."""
    if "/" not in program or Path(program).is_absolute():
        return program
    for root in roots:
        if (root / program).is_file():
            return str(root / program)
    return program
