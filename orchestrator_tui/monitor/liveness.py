"""Is the engine that owns the run still alive? Read from `.orchestrator/lock`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..infra.session import HEARTBEAT_SECONDS, STALE_INTERVALS
from .follower import MonitorSnapshot
from .formatting import age as age_text

STALE_AFTER = STALE_INTERVALS * HEARTBEAT_SECONDS

Level = Literal["idle", "alive", "done", "dead"]


@dataclass(frozen=True)
class Liveness:
    level: Level
    text: str


def engine_liveness(snapshot: MonitorSnapshot, now: float) -> Liveness:
    """What the monitor says about the engine, e.g. "engine not running — heartbeat 42 s old"."""
    state = snapshot.state
    lock = snapshot.lock
    if not snapshot.has_orchestrator:
        return Liveness("idle", "no .orchestrator here yet — waiting for a run")
    if not snapshot.run_id:
        if lock is not None and lock.age(now) <= STALE_AFTER:
            return Liveness("alive", f"engine pid {lock.pid} is starting a run")
        return Liveness("idle", "no run yet — waiting for `orchestrator-tui run`")
    if state.finished:
        reason = f": {state.outcome_reason}" if state.outcome_reason else ""
        return Liveness("done", f"run {state.outcome}{reason}")
    if lock is None:
        last = age_text(now - state.updated_at) if state.updated_at else "?"
        return Liveness("dead", f"engine not running — no lock, last event {last} old")
    heartbeat = age_text(lock.age(now))
    if snapshot.lock_pid_gone:
        gone = f"pid {lock.pid} gone, heartbeat {heartbeat} old"
        return Liveness("dead", f"engine not running — {gone}")
    if lock.age(now) > STALE_AFTER:
        return Liveness("dead", f"engine not running — heartbeat {heartbeat} old")
    return Liveness("alive", f"engine pid {lock.pid} · heartbeat {heartbeat}")
