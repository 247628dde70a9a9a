"""`orchestrator-tui tmux` and the monitor in real tmux sessions: pane layout, what the
monitor shows, approving a real engine's gate from the monitor, and tmux messages.

Each test runs its own tmux server (TMUX_TMPDIR in a fresh directory), so a person's
tmux is never touched. Skipped, with the reason, only where tmux is not installed
(scripts/test.sh installs it)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from monitor_support import RUN_ID, recorded_implementing

NEEDS_TMUX = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (scripts/test.sh installs it)"
)
PACKAGE = [sys.executable, "-m", "orchestrator_tui"]
PLAN = """\
# Plan: Greeting

## T1: Hello
depends: none
files: hello.py

## T2: World
depends: T1
files: world.py
"""
SIM_CONFIG = """\
[run]
isolation = "none"
[agents]
default = "simulated"
[agents.simulated]
backend = "simulated"
speed = 20
"""


class TmuxServer:
    """A private tmux server and the commands a person would type against it."""

    def __init__(self, folder: str) -> None:
        self.env = {**os.environ, "TMUX_TMPDIR": folder, "TERM": "xterm-256color"}
        for name in ("TMUX", "TMUX_PANE", "COLUMNS", "LINES"):  # pytest-xdist sets 80x24
            self.env.pop(name, None)

    def __call__(self, *arguments: str, check: bool = True) -> str:
        done = subprocess.run(
            ["tmux", *arguments], env=self.env, capture_output=True, text=True, timeout=10
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {arguments}: {done.stderr}")
        return done.stdout

    def panes(self, target: str) -> list[dict[str, str]]:
        keys = ("id", "width", "left", "active", "start")
        fields = "\t".join(
            f"#{{{f}}}"
            for f in ("pane_id", "pane_width", "pane_left", "pane_active", "pane_start_command")
        )
        out = self("list-panes", "-t", target, "-F", fields, check=False)
        return [dict(zip(keys, line.split("\t"), strict=True)) for line in out.splitlines()]

    def screen(self, pane: str) -> str:
        return self("capture-pane", "-p", "-t", pane, check=False)


def eventually(condition: Callable[[], object], what: str, timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def shows(tmux: TmuxServer, pane: str, *lines: str, timeout: float = 20.0) -> str:
    """Wait until the pane shows every line (a capture can catch a frame half-drawn);
    on timeout, fail with what it showed last."""
    deadline = time.monotonic() + timeout
    while True:
        screen = tmux.screen(pane)
        missing = [line for line in lines if line not in screen]
        if not missing:
            return screen
        if time.monotonic() > deadline:
            raise AssertionError(f"pane {pane} never showed {missing}; it showed:\n{screen}")
        time.sleep(0.1)


@pytest.fixture
def tmux() -> Iterator[TmuxServer]:
    folder = tempfile.mkdtemp(prefix="tmx")  # short: a socket path has ~100 bytes at most
    server = TmuxServer(folder)
    try:
        yield server
    finally:
        server("kill-server", check=False)
        shutil.rmtree(folder, ignore_errors=True)


def sim_workspace(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "PLAN.md").write_text(PLAN, encoding="utf-8")
    (root / ".orchestrator").mkdir(exist_ok=True)
    (root / ".orchestrator" / "config.toml").write_text(SIM_CONFIG, encoding="utf-8")
    return root


@NEEDS_TMUX
def test_inside_tmux_the_monitor_opens_in_a_side_pane(tmux: TmuxServer, tmp_path: Path) -> None:
    """The person's shell exports COLUMNS and LINES (as some do): the monitor must still
    draw for the pane's real size."""
    recorded_implementing(tmp_path)
    tmux.env.update(COLUMNS="120", LINES="30")
    tmux("new-session", "-d", "-s", "work", "-x", "120", "-y", "30", "-c", str(tmp_path))
    command = shlex.join([*PACKAGE, "tmux", "-C", str(tmp_path), "--width", "40"])
    tmux("send-keys", "-t", "work", command, "Enter")
    panes = eventually(lambda: len(tmux.panes("work")) == 2 and tmux.panes("work"), "a split")
    assert isinstance(panes, list)
    left, right = sorted(panes, key=lambda p: int(p["left"]))
    assert right["width"] == "40"
    assert int(left["width"]) == 120 - 40 - 1  # one column for the border
    assert left["active"] == "1", "the focus stays in the pane the person typed in"
    shows(
        tmux,
        right["id"],
        f"orch · run {RUN_ID}",
        "✓ ✓ ✓ ● · · · · · 4/9 implement",
        # The recorded lock is old: its engine is gone, and so nothing is running.
        "tasks 7: 1 done · 3 pending · 1 failed",
        "engine not running — heartbeat",
        "✗ T4: tests failed: 3 of 12 in",
    )
    shows(tmux, left["id"], f"monitor opened in tmux pane {right['id']}, 40 columns wide")
    tmux("send-keys", "-t", right["id"], "q")
    eventually(lambda: len(tmux.panes("work")) == 1, "the monitor to close on q")


@NEEDS_TMUX
def test_outside_tmux_a_session_has_the_app_and_the_monitor(
    tmux: TmuxServer, tmp_path: Path
) -> None:
    workspace = sim_workspace(tmp_path / "my.shop")
    done = subprocess.run(
        [*PACKAGE, "tmux", "-C", str(workspace), "--width", "40"],
        env=tmux.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "attach with: tmux attach -t orch-my-shop" in done.stdout
    panes = tmux.panes("=orch-my-shop")
    assert len(panes) == 2
    left, right = sorted(panes, key=lambda p: int(p["left"]))
    assert right["width"] == "40"
    assert f"run -C {workspace}" in left["start"]
    assert f"monitor {workspace}" in right["start"]
    shows(tmux, right["id"], "orch")
    again = subprocess.run(
        [*PACKAGE, "tmux", "-C", str(workspace)],
        env=tmux.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "attach with: tmux attach -t orch-my-shop-2" in again.stdout  # never clobbers


@NEEDS_TMUX
def test_a_gate_is_approved_from_the_monitor_beside_a_running_engine(
    tmux: TmuxServer, tmp_path: Path
) -> None:
    """The issue's "done when": the engine in one pane, the monitor in a 40-column pane
    beside it, the run seen live, a gate approved with `a`."""
    workspace = sim_workspace(tmp_path)
    engine = shlex.join([*PACKAGE, "run", "--headless", "-C", str(workspace)])
    tmux("new-session", "-d", "-s", "e2e", "-x", "130", "-y", "40", f"{engine}; sleep 60")
    tmux("split-window", "-h", "-d", "-l", "40", "-t", "e2e",
         shlex.join([*PACKAGE, "monitor", str(workspace)]))  # fmt: skip
    left, right = sorted(tmux.panes("e2e"), key=lambda p: int(p["left"]))
    shows(tmux, right["id"], "⏸ Plan waits for you", "♥ engine pid")
    tmux("send-keys", "-t", right["id"], "a")
    shows(tmux, left["id"], "approve Plan by monitor")
    shows(
        tmux,
        right["id"],
        "⏸ Parallel waits for you",
        "engine: ✓ plan: approve",
        "✓ ✓ ⏸ · · · · · · 3/9 parallel",
        "tasks 2: 2 pending",
    )


@NEEDS_TMUX
def test_the_engine_notifier_shows_a_tmux_message(tmux: TmuxServer, tmp_path: Path) -> None:
    """With a client attached (a pty), display-message lands in the server's message log."""
    tmux("new-session", "-d", "-s", "note", "-x", "80", "-y", "20")
    controller, terminal = os.openpty()
    client = subprocess.Popen(
        ["tmux", "attach-session", "-t", "note"],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=tmux.env,
    )
    try:
        eventually(lambda: tmux("list-clients").strip(), "the client to attach")
        pane = tmux("display-message", "-p", "-t", "note", "#{pane_id}").strip()
        socket = tmux("display-message", "-p", "-t", "note", "#{socket_path}").strip()
        script = (
            "from pathlib import Path\n"
            "from orchestrator_tui.core.config import NotifySettings\n"
            "from orchestrator_tui.core.models import StageName\n"
            "from orchestrator_tui.infra.notify import Notifier\n"
            "Notifier(Path('.'), NotifySettings(), print)"
            ".waiting(StageName.REVIEW, 'check #3 first', False)\n"
            "import time; time.sleep(0.3)\n"
        )
        env = {**tmux.env, "TMUX": f"{socket},0,0", "TMUX_PANE": pane}
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=20)
        eventually(
            lambda: (
                "message: orchestrator-tui: Review waits for approval: check #3 first"
                in tmux("show-messages")
            ),
            "the tmux message",
        )
    finally:
        tmux("kill-server", check=False)
        client.wait(timeout=10)
        os.close(controller)
        os.close(terminal)


def test_without_tmux_the_error_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [*PACKAGE, "tmux", "-C", str(tmp_path)],
        env={**os.environ, "PATH": str(tmp_path)},  # no tmux on it
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "tmux is not installed" in done.stderr
    assert "orchestrator-tui monitor DIR" in done.stderr


@NEEDS_TMUX
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-C", "/no/such/dir"], "/no/such/dir: no such directory"),
        (["--width", "8"], "--width must be at least 20 columns"),
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, arguments: list[str], message: str) -> None:
    done = subprocess.run(
        [*PACKAGE, "tmux", *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert message in done.stderr
