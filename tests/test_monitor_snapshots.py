"""Pictures of the monitor from recorded runs, at the sizes of real side panes.

The clock is frozen (elapsed times and heartbeat ages are fixed) and the follower thread is
off: the picture is the first poll of the recorded files."""

from __future__ import annotations

from pathlib import Path

import pytest
from monitor_support import NOW, recorded_implementing, recorded_review_gate

from orchestrator_tui.monitor.app import MonitorApp

SIZES = [pytest.param((40, 30), id="40x30"), pytest.param((60, 20), id="60x20")]


def frozen_monitor(workspace: Path) -> MonitorApp:
    return MonitorApp(workspace, clock=lambda: NOW, follow_changes=False)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_mid_implement(snap_compare, tmp_path: Path, size: tuple[int, int]) -> None:
    recorded_implementing(tmp_path)
    assert snap_compare(frozen_monitor(tmp_path), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_monitor_gate_waits_engine_dead(
    snap_compare, tmp_path: Path, size: tuple[int, int]
) -> None:
    recorded_review_gate(tmp_path)
    assert snap_compare(frozen_monitor(tmp_path), terminal_size=size)


def test_monitor_reject_prompt(snap_compare, tmp_path: Path) -> None:
    recorded_review_gate(tmp_path)
    assert snap_compare(
        frozen_monitor(tmp_path), terminal_size=(40, 30), press=["r", *"use argon2"]
    )
