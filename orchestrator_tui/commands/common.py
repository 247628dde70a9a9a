"""What `run` and `demo` share: turning arguments into EngineOptions, running headless."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from dataclasses import replace
from pathlib import Path

from ..core.config import Config, ConfigError, load_config
from ..core.models import STAGES, StageName
from ..engine.pipeline import Engine, EngineOptions
from ..infra.fsutil import atomic_write, describe_os_error
from ..infra.session import LockHeld

GATE_NEEDS_PERSON = 4  # --on-gate fail: a gate needs a person (README: exit codes)
GATE_TIMEOUT = 5  # --gate-timeout: nobody answered in time


class UsageError(Exception):
    """Bad arguments or configuration: printed as one line, exit 2."""


def parse_approve(text: str) -> frozenset[StageName]:
    if not text:
        return frozenset()
    if text.strip().lower() == "all":
        return frozenset(STAGES)
    stages = set()
    for name in text.split(","):
        try:
            stages.add(StageName(name.strip().lower()))
        except ValueError:
            known = ", ".join(s.value for s in STAGES)
            message = f"--approve: unknown stage {name.strip()!r} (stages: {known})"
            raise UsageError(message) from None
    return frozenset(stages)


def engine_options(args: argparse.Namespace, workspace: Path, **overrides: object) -> EngineOptions:
    if not workspace.is_dir():
        raise UsageError(f"{workspace}: no such directory")
    if getattr(args, "concurrency", 0) < 0:
        raise UsageError("--concurrency must be 1 or more")
    try:
        config = load_config(workspace)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    rounds = getattr(args, "fix_rounds", None)
    if rounds is not None:
        if rounds < 0:
            raise UsageError("--fix-rounds must be 0 or more")
        config = with_fix_rounds(config, rounds)
    values: dict[str, object] = {
        "workspace": workspace.resolve(),
        "config": config,
        "approve": parse_approve(getattr(args, "approve", "")),
        "goal": getattr(args, "goal", ""),
        "resume": not getattr(args, "new", False),
        "concurrency": getattr(args, "concurrency", 0),
    }
    values["gate_wait"] = gate_wait(args)
    values.update(overrides)
    return EngineOptions(**values)  # type: ignore[arg-type]


def gate_wait(args: argparse.Namespace) -> float | None:
    """How long a headless gate waits for a person: None for ever, 0 not at all (CI mode)."""
    on_gate, timeout = getattr(args, "on_gate", None), getattr(args, "gate_timeout", None)
    if not getattr(args, "headless", False):
        if on_gate or timeout is not None:
            raise UsageError("--on-gate and --gate-timeout go with --headless")
        return None
    if timeout is not None and timeout <= 0:
        raise UsageError("--gate-timeout must be above 0")
    if on_gate == "fail" and timeout is not None:
        raise UsageError("--gate-timeout waits: it does not go with --on-gate fail")
    if on_gate is None:
        on_gate = "wait" if timeout is not None or stdin_is_terminal() else "fail"
    return 0.0 if on_gate == "fail" else timeout


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):  # closed
        return False


def run_headless(options: EngineOptions) -> int:
    """Run the engine in a worker thread and print its events; Ctrl-C stops it resumably."""
    from ..headless import HeadlessConsole
    from ..runtime import build_engine

    console = HeadlessConsole()
    if options.approve >= frozenset(STAGES) or options.gate_wait == 0.0:
        options = replace(options, unattended=True)  # nobody is there: no request waits
    engine = build_engine(options, [console])
    try:
        engine.open()
        console.follow(engine)  # its state: a resumed run's tasks and stages so far
    except LockHeld as exc:
        print(exc, file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"cannot open the run: {describe_os_error(exc, exc.filename or '')}", file=sys.stderr)
        return 1
    outcome: list[str] = []
    trace: list[str] = []

    def work() -> None:
        try:
            outcome.append(engine.run())
        except Exception:  # a bug: the reason on stderr below, the traceback in the run
            trace.append(traceback.format_exc())

    worker = threading.Thread(target=work, name="engine")
    previous = signal.signal(signal.SIGTERM, lambda *_: engine.stop())
    worker.start()
    try:
        while worker.is_alive():
            worker.join(timeout=0.2)
    except KeyboardInterrupt:
        engine.stop()
        worker.join()
    finally:
        signal.signal(signal.SIGTERM, previous)
        console.close()
    result = outcome[0] if outcome else ""
    if trace:
        return engine_failed(engine, trace[0])
    if result == "complete":
        return 0
    if engine.unanswered is not None:  # CI mode: one line, a code of its own
        code = GATE_TIMEOUT if engine.unanswered.timed_out else GATE_NEEDS_PERSON
        print(f"gate: {engine.unanswered.reason}", file=sys.stderr)
        return code
    if not result:
        print("stopped; `orchestrator-tui run` resumes the run", file=sys.stderr)
        return 130
    print(f"run {result}: {engine.state.outcome_reason}", file=sys.stderr)
    return 1


def engine_failed(engine: Engine, trace: str) -> int:
    """A bug in the engine or its rules: one line for the log reader, the traceback kept in
    the run's directory, exit 1; the run is left resumable for a fixed version."""
    where = ""
    if engine.files is not None:
        path = engine.files.dir / "engine-error.txt"
        try:
            atomic_write(path, trace)
            where = f" (traceback in {path})"
        except OSError:
            where = ""
    print(f"{engine.failure or 'the engine failed'}{where}", file=sys.stderr)
    print("`orchestrator-tui run` resumes the run", file=sys.stderr)
    return 1


def run_or_open_app(args: argparse.Namespace, options: EngineOptions) -> int:
    if args.headless:
        return run_headless(options)
    from ..ui.app import run_app

    return run_app(options)


def with_fix_rounds(config: Config, rounds: int) -> Config:
    """The config with `[stages.test] fix_rounds` set (the `--fix-rounds N` option)."""
    test = config.stage(StageName.TEST).model_copy(update={"fix_rounds": rounds})
    stages = {**config.stages, StageName.TEST: test}
    return config.model_copy(update={"stages": stages})
