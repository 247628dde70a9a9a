"""The engine's input queue, and how its thread waits on it.

Every other thread only puts inputs here (`put`). The engine thread takes all that came
(`take`). While it drives the agent supervisor's loop (`driving`, agents/supervisor.py)
it waits in that loop's selector instead of on the queue: an agent's output and exit are
then handled on the engine's own thread, where the input they post is taken in the same
wait, and a `put` from another thread wakes the selector. Without a driver (an engine
built without one, or another engine of the process drives already) it waits on the queue.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from typing import Protocol

from .inputs import Input


class Driver(Protocol):
    """What the engine needs of the agent supervisor (agents/supervisor.py)."""

    def attach_driver(self) -> bool: ...

    def detach_driver(self) -> None: ...

    def drive(self, timeout: float) -> None: ...

    def wake(self) -> None: ...


class InputQueue:
    def __init__(self, driver: Driver | None = None) -> None:
        self.queue: queue.SimpleQueue[Input] = queue.SimpleQueue()
        self.driver = driver
        self.driving_thread = 0  # the engine thread's ident while it drives

    def put(self, item: Input) -> None:
        """From any thread."""
        self.queue.put(item)
        if self.driving_thread and self.driving_thread != threading.get_ident():
            assert self.driver is not None
            self.driver.wake()

    def take(self, timeout: float) -> list[Input]:
        """Wait up to `timeout` seconds for inputs; all that came, or none."""
        timeout = max(timeout, 0.0)
        items: list[Input] = []
        try:
            if self.driving_thread:
                assert self.driver is not None
                deadline = time.monotonic() + timeout
                while self.queue.empty():
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return items
                    self.driver.drive(left)
            else:
                items.append(self.queue.get(timeout=timeout))
            while True:
                items.append(self.queue.get_nowait())
        except queue.Empty:
            return items

    @contextlib.contextmanager
    def driving(self) -> Iterator[None]:
        """The calling thread (the engine's) drives the supervisor's loop inside."""
        if self.driver is None or not self.driver.attach_driver():
            yield
            return
        self.driving_thread = threading.get_ident()
        try:
            yield
        finally:
            self.driving_thread = 0
            self.driver.detach_driver()
