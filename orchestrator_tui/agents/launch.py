"""Starting an agent's process with glibc's posix_spawn, where Popen would cost more.

Popen's start of an agent was a large part of the engine's own cost per task
(bench/RESULTS.md): the fork and exec in C, and as long again in Python around them (its
error pipe, its file objects, its bookkeeping). posix_spawn does the whole start in one C
call. Python's os.posix_spawn cannot change the working directory (every agent runs in a
worktree of its own), so glibc is called through ctypes: since glibc 2.34 it has
posix_spawn_file_actions_addchdir_np and _addclosefrom_np. Elsewhere (musl, macOS, an older
glibc) `available()` is False and the runner uses Popen, as it does for an agent that needs
a pipe on its stdin.

The child gets what Popen(start_new_session=True, close_fds=True, restore_signals=True)
gives it: a session (and process group) of its own, the given descriptors as its stdin,
stdout and stderr and no others, its working directory and environment, SIGPIPE and SIGXFSZ
at their defaults (Python ignores both), as are glibc's own two (which a spawn would leave
ignored). A program that cannot be run (missing, not executable, a bad interpreter line)
raises OSError from `spawn`, as Popen does.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ctypes

SETSIGDEF = 0x04  # POSIX_SPAWN_SETSIGDEF
SETSID = 0x80  # POSIX_SPAWN_SETSID (glibc 2.26)
OPAQUE = 1024  # bytes for glibc's opaque types (on x86-64 the largest, the attributes, is 336)
WAIT_STEP = 0.05  # the longest sleep of a wait with a timeout


class Spawner:
    """glibc's posix_spawn with the attributes every agent shares (set once)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        import ctypes  # here, not at import: only a process that starts agents needs it

        self.lib = lib
        lib.posix_spawnattr_setflags.argtypes = [ctypes.c_void_p, ctypes.c_short]
        self.attr = ctypes.create_string_buffer(OPAQUE)
        self.defaults = ctypes.create_string_buffer(OPAQUE)  # a sigset_t
        check(lib.posix_spawnattr_init(self.attr))
        check(lib.sigemptyset(self.defaults))
        for signum in (signal.SIGPIPE, signal.SIGXFSZ):
            check(lib.sigaddset(self.defaults, signum))
        # glibc's own signals (32 and 33, below SIGRTMIN) are ignored in the child while it
        # spawns, and stay so across exec unless reset: sigaddset refuses them, so their
        # bits are set by hand (a sigset_t is an array of unsigned longs, one bit a signal)
        words = ctypes.cast(self.defaults, ctypes.POINTER(ctypes.c_ulong))
        for signum in range(32, signal.SIGRTMIN):
            word, bit = divmod(signum - 1, ctypes.sizeof(ctypes.c_ulong) * 8)
            words[word] |= 1 << bit
        check(lib.posix_spawnattr_setsigdefault(self.attr, self.defaults))
        check(lib.posix_spawnattr_setflags(self.attr, SETSID | SETSIGDEF))

    def spawn(
        self,
        program: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        cwd: Path,
        fds: tuple[int, int, int],
    ) -> int:
        """Start `program` (a path) with `argv`; `fds` become its 0, 1 and 2. The pid."""
        import ctypes

        lib, actions = self.lib, ctypes.create_string_buffer(OPAQUE)
        args, envp = strings(argv), environment(env)
        check(lib.posix_spawn_file_actions_init(actions))
        try:
            for target, fd in enumerate(fds):
                check(lib.posix_spawn_file_actions_adddup2(actions, fd, target))
            check(lib.posix_spawn_file_actions_addchdir_np(actions, os.fsencode(cwd)))
            check(lib.posix_spawn_file_actions_addclosefrom_np(actions, 3))
            pid = ctypes.c_int()
            code = lib.posix_spawn(
                ctypes.byref(pid), os.fsencode(program), actions, self.attr, args, envp
            )
        finally:
            lib.posix_spawn_file_actions_destroy(actions)
        if code:
            raise OSError(code, os.strerror(code), program)
        return pid.value


def check(code: int) -> None:
    if code:
        raise OSError(code, os.strerror(code))


def char_array(encoded: list[bytes]) -> ctypes.Array[ctypes.c_char_p]:
    """A NULL-terminated char* array; a NUL inside one is refused, as Popen refuses it (C
    would cut the string there)."""
    import ctypes

    if any(b"\0" in item for item in encoded):
        raise ValueError("embedded null byte")
    return (ctypes.c_char_p * (len(encoded) + 1))(*encoded, None)


def strings(items: Iterable[str]) -> ctypes.Array[ctypes.c_char_p]:
    """argv for C."""
    return char_array([os.fsencode(item) for item in items])


def environment(env: Mapping[str, str]) -> ctypes.Array[ctypes.c_char_p]:
    """envp for `env`. Each NAME=VALUE is encoded once and kept: agents share all of their
    environment but a few variables. Names with "=" and NULs are refused, as Popen does."""
    encoded = []
    for item in env.items():
        entry = ENCODED.get(item)
        if entry is None:
            name, value = item
            if "=" in name:
                raise ValueError("illegal environment variable name")
            entry = os.fsencode(f"{name}={value}")  # a NUL in it: refused by char_array
            if len(ENCODED) >= ENCODED_MAX:
                ENCODED.clear()
            ENCODED[item] = entry
        encoded.append(entry)
    return char_array(encoded)


ENCODED: dict[tuple[str, str], bytes] = {}
ENCODED_MAX = 4096


@functools.cache
def spawner() -> Spawner | None:
    """The spawner, where this is glibc ≥ 2.34; None elsewhere (the runner uses Popen)."""
    name, _, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
    with contextlib.suppress(ValueError):
        if name == "glibc" and tuple(map(int, version.split(".")[:2])) >= (2, 34):
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                return Spawner(ctypes.CDLL(None))
    return None


def available() -> bool:
    return spawner() is not None


def spawn(
    program: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    fds: tuple[int, int, int],
) -> Child:
    """Start `program` (resolved: a path) in a session of its own; see the module docstring."""
    found = spawner()
    if found is None:
        raise OSError("posix_spawn is not available here")
    return Child(found.spawn(program, argv, env, cwd, fds), list(argv))


class Child:
    """A process `spawn` started: what the runner and the watch use of a Popen (pid, poll,
    wait, returncode; no pipe on its stdin)."""

    stdin = None

    def __init__(self, pid: int, args: list[str]) -> None:
        self.pid = pid
        self.args = args
        self.returncode: int | None = None
        self.lock = threading.Lock()  # one waitpid at a time: the reaper sets the code

    def poll(self) -> int | None:
        if self.returncode is None and self.lock.acquire(blocking=False):
            try:
                self.reap(os.WNOHANG)
            finally:
                self.lock.release()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if timeout is None:
            with self.lock:
                if self.returncode is None:
                    self.reap(0)
        deadline = time.monotonic() + (timeout or 0.0)
        delay = 0.0005
        while (code := self.poll()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
            time.sleep(min(delay, left))
            delay = min(delay * 2, WAIT_STEP)
        return code

    def reap(self, flags: int) -> None:
        try:
            pid, status = os.waitpid(self.pid, flags)
        except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): the code is lost
            self.returncode = 255
            return
        if pid:
            self.returncode = os.waitstatus_to_exitcode(status)
