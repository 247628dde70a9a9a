"""Regenerate the SVG screenshots in screenshots/ from a simulated demo run.

Sets up the demo project (as `orchestrator-tui demo` does) in a temporary directory, opens
the app on it with the same factory as the CLI and the tests (`create_app`), drives it
from the keyboard through Pilot — approve, watch the agents, open a diff, break PLAN.md,
approve the rest, then the past-runs list and the finished run on its timeline — and
saves a picture of each main view; last, `orchestrator-tui serve` on another demo in
headless Chromium (serve-browser.png; skipped without chromium or with --no-browser).
The run is real (simulated agents, real git, real stage tools), so times and some
figures differ between runs.

    python scripts/screenshots.py [--out screenshots] [--speed 1.5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
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
from orchestrator_tui.ui.screens.past_run import PastRunScreen
from orchestrator_tui.ui.screens.runs_list import RunsScreen
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
        await pilot.press("v")  # the running agents side by side
        await pilot.pause(0.6)
        shot(app, out, "board-tiles")
        await pilot.press("v")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.4)
        shot(app, out, "board-80x24")
        await pilot.resize_terminal(*WIDE)

        await gate(pilot, app, StageName.IMPLEMENT)
        await pilot.press("escape")
        app.run_screen.select("T3")  # failed once on purpose, then merged
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
        await pilot.press("escape")
        await past_runs(pilot, app, out)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to close")
    app.shutdown_engine()


async def past_runs(pilot, app: OrchestratorApp, out: Path) -> None:
    """`H`: the runs list; the finished run opened, on its timeline at the security gate."""
    await pilot.press("H")
    await until(
        pilot, lambda: isinstance(app.screen, RunsScreen) and bool(app.screen.runs), "the runs"
    )
    await pilot.pause(0.3)
    shot(app, out, "runs-list")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, PastRunScreen), "the past run")
    screen = app.screen
    assert isinstance(screen, PastRunScreen)

    def at_security_gate() -> bool:
        gate = screen.state.gate
        return gate is not None and gate.stage == StageName.SECURITY

    while not at_security_gate() and screen.position > 0:
        await pilot.press("less_than_sign")
    screen.select("T3")
    await pilot.pause(0.5)
    shot(app, out, "past-run-timeline")
    await pilot.press("escape", "escape")
    await until(pilot, lambda: app.screen is app.run_screen, "the run screen")


async def browser(out: Path, speed: float) -> None:
    """`orchestrator-tui serve` on a fresh demo, in headless Chromium: a PNG of the app in
    the page while the agents work (tests/browser_support.py drives the browser)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser_support import Browser, chromium_path

    if chromium_path() is None:
        print("screenshots: no chromium, no serve-browser.png", file=sys.stderr)
        return
    root = Path(tempfile.mkdtemp(prefix="orchestrator-serve-")) / "textkit"
    prepare_demo(root, speed)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "orchestrator_tui", "serve", "-C", str(root), "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    page = Browser()
    try:
        await page.connect()
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        await page.open(f"http://127.0.0.1:{port}/")
        for _ in range(2):  # the plan and parallel gates
            await page.wait_for_text("approve?", timeout=120)
            await page.evaluate("window.__terminal.focus()")
            await page.press("a")
            await asyncio.sleep(1.0)
        await page.wait_for_text("▶ 4 Implement", "running", timeout=120)
        await asyncio.sleep(6.0)  # the approvals' toasts go
        await page.screenshot(out / "serve-browser.png")
        print(f"screenshots: {out / 'serve-browser.png'}", file=sys.stderr)
    finally:
        await page.close()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="screenshots", help="where the SVGs go")
    parser.add_argument("--speed", type=float, default=1.5, help="simulated agents' time factor")
    parser.add_argument(
        "--no-browser", action="store_true", help="no serve-browser.png (needs chromium)"
    )
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(take(out, args.speed))
    if not args.no_browser:
        asyncio.run(browser(out, args.speed))


if __name__ == "__main__":
    main()
