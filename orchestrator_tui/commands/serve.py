"""`orchestrator-tui serve [-C DIR] [--port N] [--host ADDR] [--monitor]`: the app (or the
monitor) in a web browser, through textual-serve.

textual-serve starts one process per browser tab and relays its terminal over a
websocket. Each tab's process is a *session* (`serve --session`, hidden): the app on the
workspace's run — resumed, as `orchestrator-tui run` does — or, with `--monitor` or when
an engine already holds the workspace (another tab, a terminal), the monitor, which
follows that run and can approve it too. Closing the tab that runs the app stops its
engine resumably, as quitting the app does; opening the page again resumes the run.

Bound to 127.0.0.1 unless `--host` names another address; then a warning says that
whoever reaches the port can approve stages (there is no password). The page is
textual-serve's own without its web font (commands/serve_page/app_index.html), so a
browser on a closed network fetches nothing from outside; the websocket's address comes
from the request, so `--host 0.0.0.0` works from other machines.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

PAGE_DIR = Path(__file__).with_name("serve_page")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def session_command(args: argparse.Namespace, workspace: Path) -> str:
    """The command textual-serve runs for each browser tab."""
    argv = [sys.executable, "-m", "orchestrator_tui", "serve", "--session", "-C", str(workspace)]
    if args.monitor:
        argv.append("--monitor")
    if args.approve:
        argv += ["--approve", args.approve]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    return shlex.join(argv)


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace).expanduser()
    if not workspace.is_dir():
        print(f"{workspace}: no such directory", file=sys.stderr)
        return 2
    workspace = workspace.resolve()
    if args.session:
        return run_session(args, workspace)
    if not 0 < args.port < 65536:
        print(f"--port {args.port}: a port is 1…65535", file=sys.stderr)
        return 2
    if not is_loopback(args.host):
        print(
            f"warning: serving on {args.host}:{args.port}, not only this machine: whoever "
            "reaches that port can approve, reject and cancel this workspace's runs "
            "(there is no password)",
            file=sys.stderr,
        )
    return serve(args, workspace)


def serve(args: argparse.Namespace, workspace: Path) -> int:
    from textual_serve.server import Server

    class PageServer(Server):
        """textual-serve's server, with our page and the websocket address taken from
        the request (so it is right whatever address the browser used)."""

        async def handle_index(self, request: Any) -> Any:
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

        def initialize_logging(self) -> None:
            super().initialize_logging()
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # not every GET

        async def on_startup(self, app: Any) -> None:
            what = "the monitor" if args.monitor else "the app"
            url = f"http://{args.host}:{args.port}/"
            print(f"serving {what} on {workspace} at {url} (ctrl+c stops)", flush=True)

    server = PageServer(
        session_command(args, workspace),
        host=args.host,
        port=args.port,
        title=f"orchestrator-tui · {workspace.name}",
        templates_path=PAGE_DIR,
    )
    try:
        server.serve()
    except OSError as exc:  # the port is taken, the address is not ours…
        print(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


def run_session(args: argparse.Namespace, workspace: Path) -> int:
    """One browser tab: the app on the run, or the monitor when asked or when an engine
    already holds the workspace."""
    from ..infra.run_index import live_run

    if args.monitor or live_run(workspace):
        from ..monitor.app import run_monitor

        return run_monitor(workspace)
    from ..ui.app import run_app
    from .common import UsageError, engine_options

    try:
        options = engine_options(args, workspace)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    return run_app(options)
