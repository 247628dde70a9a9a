"""The `orchestrator-tui` command: argument parsing and dispatch.

Each subcommand lives in `orchestrator_tui.commands.<name>` and is imported only when it
runs, so `--help` and `--version` never load Textual.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__

STAGE_LIST = "analyze,plan,parallel,implement,security,test,cleanup,review,complete"


def workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-C", "--workspace", default=".", metavar="DIR", help="the workspace (default: .)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator-tui",
        description="Run AI coding agents through a nine-stage, human-gated pipeline.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = commands.add_parser(
        "init", help="write CLAUDE.md, PLAN.md and .orchestrator/config.toml"
    )
    init.add_argument("directory", nargs="?", default=".", help="the workspace (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.set_defaults(handler="init")

    plan = commands.add_parser("plan", help="work with plans")
    plan_commands = plan.add_subparsers(dest="plan_command", metavar="ACTION", required=True)
    check = plan_commands.add_parser("check", help="validate a plan and show its schedule")
    check.add_argument(
        "plan", nargs="?", default="PLAN.md", help="PLAN.md, plan.toml or tasks.json"
    )
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler="plan")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    module = importlib.import_module(f"orchestrator_tui.commands.{args.handler}")
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
