"""`orchestrator-tui serve` in a real headless Chromium: the page loads the app on the demo
project, the nine stages are on it, `a` approves the waiting stage and the gate moves on;
SIGTERM to the server stops the session's engine resumably (the workspace lock is free).

Chromium is Debian's package (scripts/test.sh installs it); without it the test is skipped
and says why. The other tests here need no browser: the arguments, the address warning.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_support import Browser, chromium_path

from orchestrator_tui.commands import serve
from orchestrator_tui.commands.demo import prepare_demo
from orchestrator_tui.commands.serve import is_loopback
from orchestrator_tui.infra.run_index import live_run

CLI = [sys.executable, "-m", "orchestrator_tui"]
STAGES = ("Analyze", "Plan", "Parallel", "Implement", "Security", "Test", "Cleanup", "Review")
SCREENSHOT = os.environ.get("ORCHESTRATOR_TUI_SERVE_SCREENSHOT", "")  # where to save one


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout:.0f} s")


def stop(server: subprocess.Popen, timeout: float = 30.0) -> int:
    """SIGTERM to the server (as a service manager stops it); its group killed after."""
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(timeout)
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever a session left behind
            os.killpg(server.pid, signal.SIGKILL)


def gate_of(text: str) -> str:
    """The stage the approval dialog asks about: `Stage 2 · Plan done — approve?`."""
    found = re.search(r"Stage \d · (\w+) (?:done|failed)", text)
    return found.group(1) if found else ""


@pytest.mark.timeout(240)
@pytest.mark.skipif(
    chromium_path() is None, reason="chromium is not installed (apt-get install chromium)"
)
def test_the_app_in_a_browser_approves_a_stage(tmp_path: Path) -> None:
    workspace = tmp_path / "textkit"
    prepare_demo(workspace, 2.0)
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [*CLI, "serve", "-C", str(workspace), "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    failure: Exception | None = None
    try:
        wait_for_port(port, server)
        asyncio.run(asyncio.wait_for(drive(f"http://127.0.0.1:{port}/"), timeout=200))
    except Exception as exc:  # said below with what the server printed
        failure = exc
    finally:
        code = stop(server)
        log.close()
    said = (tmp_path / "serve.log").read_text(errors="replace")
    if failure is not None:
        raise AssertionError(f"{failure!r}\n--- serve printed:\n{said[-3000:]}") from failure
    assert f"at http://127.0.0.1:{port}/" in said
    assert code == 0, said[-3000:]
    assert live_run(workspace) == "", "the session's engine still holds the workspace"


async def drive(url: str) -> None:
    browser = Browser()
    try:
        await browser.connect()
        await browser.open(url)
        text = await browser.wait_for_text(*STAGES, "Complete", timeout=60)
        assert "orchestrator-tui" in text
        text = await browser.wait_for_text("approve?", timeout=60)
        first = gate_of(text)
        assert first in STAGES, text
        await browser.evaluate("window.__terminal.focus()")
        await browser.press("a")
        text = await browser.wait_for_text(f"{first.lower()}: approve", timeout=30)
        # the gate moved: the next stage waits (or runs), the approved one is ticked
        deadline = time.monotonic() + 60
        while gate_of(text) in ("", first) and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            text = await browser.screen_text()
        second = gate_of(text)
        assert STAGES.index(second) > STAGES.index(first), text
        assert f"✓ {STAGES.index(first) + 1} {first}" in text, text
        await second_tab_approves(url, second)
        # the app in the first tab heard it: the stage after is on its way
        await browser.wait_for_text(f"{second.lower()}: approve", timeout=30)
        if SCREENSHOT:
            await browser.wait_for_text("▶ 4 Implement", "running", timeout=60)
            await asyncio.sleep(1.5)
            await browser.screenshot(Path(SCREENSHOT))
    finally:
        await browser.close()


async def second_tab_approves(url: str, stage: str) -> None:
    """Another browser on the same page while the app holds the run: it gets the monitor
    (no second engine), which shows the waiting gate; its `a` approves it."""
    other = Browser(width=700, height=700)
    try:
        await other.connect()
        await other.open(url)
        text = await other.wait_for_text("orch · run", "approve", timeout=60)
        assert "Approve (a)" not in text  # the monitor's page, not a second app
        assert stage in text, text
        await other.evaluate("window.__terminal.focus()")
        await other.press("a")
        await other.wait_for_text(f"✓ {stage.lower()}: approve", timeout=30)  # the engine's answer
    finally:
        await other.close()


def test_serve_says_bad_arguments(tmp_path: Path) -> None:
    missing = subprocess.run(
        [*CLI, "serve", "-C", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 2 and "no such directory" in missing.stderr
    port = subprocess.run(
        [*CLI, "serve", "-C", str(tmp_path), "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert port.returncode == 2 and "a port is 1…65535" in port.stderr


def test_another_address_warns_that_anyone_there_can_approve(tmp_path: Path) -> None:
    """Bound to all addresses: the warning, then it serves (stopped by SIGTERM)."""
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "-C", str(tmp_path), "--host", "0.0.0.0", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_port(port, server)
    finally:
        stop(server)
    out, err = server.communicate(timeout=30)
    assert "whoever reaches that port can approve" in err
    assert "0.0.0.0" in err and f":{port}/" in out
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")


def test_a_tab_opened_while_an_engine_holds_the_run_gets_the_monitor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second tab (or a tab beside `orchestrator-tui run` in a terminal) must not start
    a second engine: it follows the run in the monitor, which can approve too."""
    from runs_support import hold_lock, two_runs

    from orchestrator_tui.monitor import app as monitor_app
    from orchestrator_tui.ui import app as ui_app

    opened: list[str] = []
    monkeypatch.setattr(monitor_app, "run_monitor", lambda ws: opened.append("monitor") or 0)
    monkeypatch.setattr(ui_app, "run_app", lambda options: opened.append("app") or 0)
    args = argparse.Namespace(
        workspace=str(tmp_path), session=True, monitor=False, approve="", concurrency=0
    )
    two_runs(tmp_path)
    assert serve.main(args) == 0
    hold_lock(tmp_path, "20231114-221320-ab12")
    assert serve.main(args) == 0
    assert opened == ["app", "monitor"]
    args.monitor = True
    (tmp_path / ".orchestrator" / "lock").unlink()
    assert serve.main(args) == 0 and opened[-1] == "monitor"
    command = serve.session_command(
        argparse.Namespace(monitor=True, approve="plan", concurrency=2), tmp_path
    )
    assert "serve --session -C" in command and "--monitor --approve plan --concurrency 2" in command
