"""While an agent waits for a person its timeout and stall clocks stand still (the Watch's
`holding`, set by the claude backend while a permission request or an interrupt waits)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from agent_support import RecordingEvents

from orchestrator_tui.agents.runner import ProcessSpec, start_process

pytestmark = pytest.mark.timeout(60)
SLEEPER = [sys.executable, "-c", "import time; time.sleep(2.5); print('woke', flush=True)"]


def start(tmp_path: Path, holding):
    events = RecordingEvents()
    spec = ProcessSpec(
        argv=SLEEPER,
        cwd=tmp_path,
        log_path=tmp_path / "agent.log",
        timeout=1.0,
        stall_after=0.5,
    )
    watch = start_process(spec, lambda text, stream: [text], events, threading.Event())
    watch.holding = holding
    return watch, events


def test_while_holding_neither_the_timeout_nor_the_stall_warning_runs(tmp_path: Path) -> None:
    watch, events = start(tmp_path, lambda: True)
    outcome = watch.wait(30)
    assert outcome is not None and outcome.reason == "ok", outcome
    assert "woke" in events.lines
    assert not [n for n in events.notices if "stalled" in n[1]], events.notices


def test_without_holding_the_same_agent_times_out(tmp_path: Path) -> None:
    watch, _ = start(tmp_path, None)
    outcome = watch.wait(30)
    assert outcome is not None and outcome.timed_out and outcome.reason == "timeout after 1 s"
