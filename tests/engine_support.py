"""Shared helpers for engine tests: simulated workspaces and a recording sink."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import Config, config_from_dict
from orchestrator_tui.core.models import STAGES, StageName
from orchestrator_tui.engine.pipeline import Engine, EngineOptions
from orchestrator_tui.runtime import build_engine

DIAMOND = """\
# Plan: Diamond

## A: Base
depends: none
files: a.py

## B: Left
depends: A
files: b.py

## C: Right
depends: A
files: c.py

## D: Join
depends: B, C
files: d.py
"""


class Recorder:
    """An EventSink that keeps every event, thread-safely."""

    def __init__(self) -> None:
        self.events: list[ev.EventBase] = []
        self.lock = threading.Lock()

    def emit(self, event: ev.EventBase) -> None:
        with self.lock:
            self.events.append(event)

    def kinds(self, persisted_only: bool = True) -> list[str]:
        with self.lock:
            return [e.kind for e in self.events if e.persisted or not persisted_only]

    def of(self, kind: type[ev.EventBase]) -> list:
        with self.lock:
            return [e for e in self.events if isinstance(e, kind)]

    def wait_for(self, test: Callable[[ev.EventBase], bool], timeout: float = 10.0) -> ev.EventBase:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for event in self.events:
                    if test(event):
                        return event
            time.sleep(0.01)
        raise AssertionError("event not seen in time")


def make_workspace(root: Path, plan: str = DIAMOND, script: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "PLAN.md").write_text(plan, encoding="utf-8")
    if script:
        (root / "sim.toml").write_text(script, encoding="utf-8")
    return root


def sim_config(script: str = "", **sections: dict) -> Config:
    data: dict = {
        "agents": {
            "default": "sim",
            "sim": {"backend": "simulated", "speed": 20.0, "script": "sim.toml" if script else ""},
        },
        "run": {"retry_backoff": 0.05, "isolation": "none"},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    return config_from_dict(data)


def engine_for(
    workspace: Path,
    config: Config,
    recorder: Recorder,
    approve: frozenset[StageName] = frozenset(STAGES),
    **options: object,
) -> Engine:
    values: dict = {"watch": False, "poll_interval": 0.01, "heartbeat": 0.2}
    values.update(options)
    return build_engine(
        EngineOptions(workspace=workspace, config=config, approve=approve, **values), [recorder]
    )


class Background:
    """Runs an engine in a thread, as the app does."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.outcome: list[str] = []
        self.thread = threading.Thread(target=lambda: self.outcome.append(engine.run()))

    def __enter__(self) -> Background:
        self.engine.open()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.engine.stop()
        self.thread.join(timeout=20)
        assert not self.thread.is_alive(), "engine did not stop"

    def result(self, timeout: float = 20.0) -> str:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "engine still running"
        return self.outcome[0]
