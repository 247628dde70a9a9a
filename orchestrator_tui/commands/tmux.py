"""`orchestrator-tui tmux [-C DIR] [--width N]`: the monitor in a tmux side pane.

Inside tmux ($TMUX set) the current pane is split and the monitor starts on the right,
N columns wide; the focus stays where it was. Outside tmux a new session starts with the
app on the left and the monitor on the right, and we attach to it (or, when stdin is not a
terminal, print how to). Every command is an argv list; the one shell string tmux needs for
a pane is built with shlex.join from an argv, never from user text.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

MIN_WIDTH = 20
TMUX_TIMEOUT = 10.0
DEFAULT_SIZE = (160, 45)

# A pane whose program failed stays open until Enter, so its error can be read. The
# program's argv arrives as "$@"; nothing from the user is spliced into this text.
HOLD_ON_ERROR = (
    '"$@"; status=$?; if [ "$status" -ne 0 ]; then '
    'printf \'\\n[%s exited with %s; press Enter to close]\' "$0" "$status"; read -r _; fi'
)


class TmuxError(Exception):
    """A tmux command failed; the message is tmux's own."""


def package_argv(*arguments: str) -> list[str]:
    """This interpreter running this package: works whatever PATH the tmux server has."""
    return [sys.executable, "-m", "orchestrator_tui", *arguments]


def pane_command(argv: list[str]) -> str:
    """The shell-command string for a tmux pane: `argv`, held open if it fails. COLUMNS and
    LINES are dropped: exported by a shell or a test runner, they would override the pane's
    real size, and the view would be drawn for a terminal that is not there."""
    unset = ["env", "-u", "COLUMNS", "-u", "LINES"]
    return shlex.join(["sh", "-c", HOLD_ON_ERROR, "orchestrator-tui", *unset, *argv])


def run_tmux(tmux: str, *arguments: str) -> str:
    try:
        done = subprocess.run(
            [tmux, *arguments],
            capture_output=True,
            text=True,
            timeout=TMUX_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise TmuxError(f"tmux {arguments[0]} did not answer in {TMUX_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise TmuxError(f"tmux {arguments[0]}: {message}")
    return done.stdout.strip()


def session_name(tmux: str, workspace: Path) -> str:
    """`orch-<dir>`, unique among the server's sessions (tmux forbids '.' and ':')."""
    base = "orch-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", workspace.name).strip("-") or "workspace")
    name, number = base, 1
    while session_exists(tmux, name):
        number += 1
        name = f"{base}-{number}"
    return name


def session_exists(tmux: str, name: str) -> bool:
    done = subprocess.run(
        [tmux, "has-session", "-t", f"={name}"],
        capture_output=True,
        timeout=TMUX_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode == 0


def split_here(tmux: str, workspace: Path, width: int) -> int:
    """Inside tmux: the monitor in a new pane to the right of the pane we run in."""
    arguments = ["split-window", "-h", "-d", "-l", str(width), "-P", "-F", "#{pane_id}"]
    arguments += ["-c", str(workspace)]
    if os.environ.get("TMUX_PANE"):
        arguments += ["-t", os.environ["TMUX_PANE"]]
    pane = run_tmux(tmux, *arguments, pane_command(package_argv("monitor", str(workspace))))
    print(f"monitor opened in tmux pane {pane}, {width} columns wide (q in it closes it)")
    return 0


def new_session(tmux: str, workspace: Path, width: int) -> int:
    """Outside tmux: a new session, the app on the left and the monitor on the right."""
    name = session_name(tmux, workspace)
    columns, lines = terminal_size()
    app = pane_command(package_argv("run", "-C", str(workspace)))
    monitor = pane_command(package_argv("monitor", str(workspace)))
    size = ["-x", str(columns), "-y", str(lines)]
    run_tmux(tmux, "new-session", "-d", "-s", name, *size, "-c", str(workspace), app)
    run_tmux(tmux, "split-window", "-h", "-d", "-l", str(width), "-t", f"={name}:",
             "-c", str(workspace), monitor)  # fmt: skip
    if sys.stdin.isatty() and sys.stdout.isatty():
        os.execvp(tmux, [tmux, "attach-session", "-t", f"={name}"])
    print(f"started tmux session {name}: the app on the left, the monitor on the right")
    print(f"attach with: tmux attach -t {name}")
    return 0


def terminal_size() -> tuple[int, int]:
    """This terminal's size, so the split is right before the first attach resizes it."""
    if sys.stdout.isatty():
        size = shutil.get_terminal_size(DEFAULT_SIZE)
        return size.columns, size.lines
    return DEFAULT_SIZE


def main(args: argparse.Namespace) -> int:
    tmux = shutil.which("tmux")
    if tmux is None:
        print(
            "tmux is not installed (apt install tmux, brew install tmux); without it, run "
            "`orchestrator-tui monitor DIR` in a terminal of your own",
            file=sys.stderr,
        )
        return 1
    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    if args.width < MIN_WIDTH:
        print(f"--width must be at least {MIN_WIDTH} columns (42 by default)", file=sys.stderr)
        return 2
    try:
        if os.environ.get("TMUX"):
            return split_here(tmux, workspace.resolve(), args.width)
        return new_session(tmux, workspace.resolve(), args.width)
    except TmuxError as exc:
        print(exc, file=sys.stderr)
        return 1
