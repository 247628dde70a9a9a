"""Wiring: the one app factory shared by the CLI (`run_app`), the tests and the screenshot
script, and `run_app` itself — open the run (the lock first), run the app, stop the engine
resumably, and turn how the run ended into an exit code."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from ..core import events as ev
from ..core.events import EventSink
from ..engine.pipeline import EngineOptions
from ..infra.session import LockHeld
from .handle import EngineFactory, EngineHandle
from .orchestrator_app import Clock, OrchestratorApp
from .sink import EngineSink

__all__ = ["OrchestratorApp", "create_app", "feed", "run_app"]


def default_engine(options: EngineOptions, sinks: Sequence[EventSink]) -> EngineHandle:
    from ..runtime import build_engine

    return build_engine(options, sinks)


def create_app(
    options: EngineOptions,
    engine_factory: EngineFactory | None = None,
    *,
    clock: Clock = time.time,
    start_engine: bool = True,
    animations: bool = True,
) -> OrchestratorApp:
    """The app with its engine attached (not yet opened). Tests pass a fake engine factory,
    a frozen clock, start_engine=False to feed recorded events, animations=False."""
    app = OrchestratorApp(options, clock=clock, start_engine=start_engine, cursor_blink=animations)
    app.engine = (engine_factory or default_engine)(options, [app.sink])
    if not animations:
        app.animation_level = "none"
    return app


def run_app(options: EngineOptions) -> int:
    """`orchestrator-tui run`: open the run (the lock first), then the app."""
    app = create_app(options)
    try:
        app.handle.open()
    except LockHeld as exc:
        print(exc, file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"cannot open the run: {exc}", file=sys.stderr)
        return 1
    try:
        app.run()
    finally:
        app.shutdown_engine()
    return app.exit_code()


def feed(app: OrchestratorApp, events: Sequence[ev.EventBase]) -> None:
    """Deliver recorded events as the sink would (tests and screenshots, on the UI thread)."""
    for event in events:
        app.post_message(EngineSink.Event(event))
