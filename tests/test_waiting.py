"""The engine thread watches the agents itself while it waits (engine/waiting.py,
agents/supervisor.py `drive`): an agent's exit is handled on the thread that waits, a put
from another thread wakes that wait, and the supervisor's own thread takes over again after."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from agent_support import RecordingEvents

from orchestrator_tui.agents import supervisor
from orchestrator_tui.agents.runner import ProcessSpec, plain_lines, start_process
from orchestrator_tui.engine import inputs as inp
from orchestrator_tui.engine.waiting import InputQueue


def quick(tmp_path: Path, name: str, code: str = "print('hi')") -> ProcessSpec:
    return ProcessSpec(
        argv=[sys.executable, "-c", code],
        cwd=tmp_path,
        log_path=tmp_path / "logs" / f"{name}.log",
        env=dict(os.environ),
        timeout=30.0,
        stall_after=60.0,
    )


def test_the_driving_thread_handles_the_exit_and_takes_its_input(tmp_path: Path) -> None:
    queue = InputQueue(supervisor.shared())
    seen: list[str] = []

    def exited(outcome: object) -> None:
        seen.append(threading.current_thread().name)
        queue.put(inp.Wake())

    def engine() -> None:
        with queue.driving():
            start_process(quick(tmp_path, "D"), plain_lines, RecordingEvents(), threading.Event(),
                          exited)  # fmt: skip
            deadline = time.monotonic() + 30
            while not queue.take(1.0) and time.monotonic() < deadline:
                pass

    worker = threading.Thread(target=engine, name="engine")
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert seen == ["engine"]  # not the supervisor's thread: no hand-over
    # afterwards the supervisor's own thread watches agents again
    outcome = start_process(quick(tmp_path, "E"), plain_lines, RecordingEvents(),
                            threading.Event()).wait(timeout=30)  # fmt: skip
    assert outcome is not None and outcome.ok


def test_a_put_from_another_thread_wakes_the_drivers_wait(tmp_path: Path) -> None:
    queue = InputQueue(supervisor.shared())
    took: list[tuple[float, int]] = []

    def engine() -> None:
        with queue.driving():
            started = time.monotonic()
            items = queue.take(20.0)
            took.append((time.monotonic() - started, len(items)))

    worker = threading.Thread(target=engine, name="engine")
    worker.start()
    time.sleep(0.3)
    queue.put(inp.Wake())
    worker.join(timeout=30)
    assert took and took[0][1] == 1
    assert took[0][0] < 5.0  # woken, not the 20 s timeout


def test_one_driver_at_a_time_the_other_waits_on_its_queue() -> None:
    shared = supervisor.shared()
    first, second = InputQueue(shared), InputQueue(shared)
    with first.driving():
        assert first.driving_thread
        with second.driving():
            assert not second.driving_thread  # the loop is driven already
            second.put(inp.Wake())
            assert len(second.take(1.0)) == 1
    assert shared.driver == 0 and shared.ours.is_set()


def test_without_a_driver_take_waits_on_the_queue() -> None:
    queue = InputQueue()
    with queue.driving():
        assert not queue.driving_thread
        started = time.monotonic()
        assert queue.take(0.2) == []
        assert time.monotonic() - started >= 0.15
