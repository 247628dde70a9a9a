"""Regenerate the SVG screenshots in screenshots/ from a simulated demo run.

Sets up the demo project (as `orchestrator-tui demo` does) in a temporary directory, opens
the app on it with the same factory as the CLI and the tests (`create_app`), drives it
from the keyboard through Pilot — approve, watch the agents, open a diff, break PLAN.md,
approve the rest — and saves a picture of each main view. The run is real (simulated
agents, real git, real stage tools), so times and some figures differ between runs.

    python scripts/screenshots.py [--out screenshots] [--speed 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from orchestrator_tui.commands.demo import prepare_demo
from orchestrator_tui.core.config import load_config
from orchestrator_tui.core.models import StageName, TaskStatus
from orchestrator_tui.engine.pipeline import EngineOptions
from orchestrator_tui.ui.app import OrchestratorApp, create_app
from orchestrator_tui.ui.screens.approval import ApprovalScreen
from orchestrator_tui.ui.screens.document import DocumentScreen
from orchestrator_tui.ui.screens.task_detail import TaskDetailScreen

WIDE = (130, 40)


async def until(pilot, test: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: gave up waiting for {what}")
        await pilot.pause(0.05)


async def gate(pilot, app: OrchestratorApp, stage: StageName) -> None:
    await until(
        pilot,
        lambda: isinstance(app.screen, ApprovalScreen) and app.screen.stage == stage,
        f"the {stage} gate",
    )
    await pilot.pause(0.3)


def shot(app: OrchestratorApp, out: Path, name: str) -> None:
    app.save_screenshot(filename=f"{name}.svg", path=str(out))
    print(f"screenshots: {out / name}.svg", file=sys.stderr)


async def take(out: Path, speed: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="orchestrator-screens-")) / "textkit"
    prepare_demo(root, speed)
    options = EngineOptions(workspace=root, config=load_config(root), resume=False)
    app = create_app(options)
    app.handle.open()
    async with app.run_test(size=WIDE) as pilot:
        await gate(pilot, app, StageName.PLAN)
        await pilot.press("a")
        await gate(pilot, app, StageName.PARALLEL)
        shot(app, out, "approval-schedule")
        await pilot.press("a")

        def busy() -> bool:
            running = [t for t in app.state.tasks.values() if t.status == TaskStatus.RUNNING]
            done = [t for t in app.state.tasks.values() if t.status == TaskStatus.DONE]
            shown = app.run_screen.logs.panes.get(app.run_screen.logs.active or "")
            lines = len(shown.lines) if shown else 0
            return len(running) >= 2 and len(done) >= 2 and lines >= 4

        await until(pilot, busy, "agents at work")
        await pilot.pause(0.4)
        shot(app, out, "board-implementing")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.4)
        shot(app, out, "board-80x24")
        await pilot.resize_terminal(*WIDE)

        await gate(pilot, app, StageName.IMPLEMENT)
        await pilot.press("escape")
        app.run_screen.tasks.select("T3")  # failed once on purpose, then merged
        await pilot.pause(0.3)
        shot(app, out, "task-retried")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, TaskDetailScreen), "the diff")
        await pilot.pause(1.5)
        shot(app, out, "task-diff")
        await pilot.press("escape")

        plan = root / "PLAN.md"
        good = plan.read_text(encoding="utf-8")
        plan.write_text(good + "\n## T9: Typo\ndepends: T99\n", encoding="utf-8")
        await until(pilot, lambda: bool(app.state.plan_error), "the invalid-plan banner")
        app.clear_notifications()
        await pilot.pause(0.3)
        shot(app, out, "plan-invalid")
        plan.write_text(good, encoding="utf-8")
        await until(pilot, lambda: not app.state.plan_error, "the plan to be good again")

        await pilot.press("a")  # the implement gate opens again from the board
        await pilot.press("a")
        await gate(pilot, app, StageName.SECURITY)
        shot(app, out, "approval-security")
        await pilot.press("a")
        for stage in (StageName.TEST, StageName.REVIEW):
            await gate(pilot, app, stage)
            await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, DocumentScreen), "the summary")
        await pilot.pause(0.5)
        shot(app, out, "summary")
        await pilot.press("escape", "q")
        await until(pilot, lambda: not app.is_running, "the app to close")
    app.shutdown_engine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots", help="where the SVGs go")
    parser.add_argument("--speed", type=float, default=1.5, help="simulated agents' time factor")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(take(out, args.speed))


if __name__ == "__main__":
    main()
