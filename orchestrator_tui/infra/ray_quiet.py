"""Keep Ray off the terminal: the Textual app draws on stderr (fd 2), and Ray would write
there and to stdout while it connects and runs.

- Ray's Python loggers are set to critical only; the driver's thread that prints cluster
  error messages (a worker died, objects lost…) sends them to a logger instead of stdout.
- faulthandler is enabled on the real stderr before ray.init would try the app's capture
  object (which has no file descriptor) and fail;
- Ray's C++ core logs fatal messages only (RAY_BACKEND_LOG_LEVEL, unless the user set it);
  it says so on stderr once while it starts, so `ray.init` runs with fd 2 passed through a
  filter that drops lines of Ray's C++ log format and lets everything else (the app's own
  drawing, in the meantime) through unchanged.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

RAY_LOG_LINE = re.compile(rb"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [DIWEF] \d+ \d+\] \S+:\d+: ")
RAY_LOGGERS = ("ray", "ray.data", "ray.tune", "ray.train", "ray.serve")
logger = logging.getLogger("orchestrator_tui.ray")


def quiet_loggers() -> None:
    for name in RAY_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")


def quiet_error_printer(ray: Any) -> None:
    """Ray's driver prints the cluster's error messages to stdout: log them instead."""
    worker_module = getattr(getattr(ray, "_private", None), "worker", None)
    if worker_module is None or not hasattr(worker_module, "print_to_stdstream"):
        return

    def to_log(data: dict, ignore_prefix: bool = False) -> None:
        for line in data.get("lines", ()):
            logger.info("ray: %s", line)

    worker_module.print_to_stdstream = to_log


def fault_handler_on_real_stderr() -> None:
    """ray.init enables faulthandler on sys.stderr, which in the app is Textual's capture
    object (fileno -1: "file.fileno() is not a valid file descriptor", and no Ray at all).
    Enabled first on the real stderr, Ray leaves it alone."""
    stream = sys.__stderr__
    if faulthandler.is_enabled() or stream is None:
        return
    with contextlib.suppress(ValueError, OSError, io.UnsupportedOperation):
        faulthandler.enable(file=stream, all_threads=False)


def filtered(chunk: bytes) -> bytes:
    lines = chunk.splitlines(keepends=True)
    return b"".join(line for line in lines if not RAY_LOG_LINE.match(line))


@contextlib.contextmanager
def stderr_filtered(keep: Callable[[bytes], bytes] = filtered) -> Iterator[None]:
    """While inside, fd 2 goes through `keep` on its way to where it went before."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    read_end, write_end = os.pipe()

    def pump() -> None:
        while True:
            try:
                chunk = os.read(read_end, 65536)
            except OSError:
                return
            if not chunk:
                return
            data = keep(chunk)
            with contextlib.suppress(OSError):
                while data:
                    data = data[os.write(saved, data) :]

    thread = threading.Thread(target=pump, name="ray-stderr-filter", daemon=True)
    thread.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield
    finally:
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump drains and ends
        thread.join(timeout=2)
        os.close(read_end)
        os.close(saved)
