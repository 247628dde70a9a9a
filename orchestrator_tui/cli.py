"""The `orchestrator-tui` command: argument parsing and dispatch.

Each subcommand lives in `orchestrator_tui.commands.<name>` and is imported only when it
runs, so `--help` and `--version` never load Textual.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import sys
from collections.abc import Sequence

from . import __version__

GC_THRESHOLD = 10_000  # allocations between young collections (Python: 700)
STAGE_LIST = "analyze,plan,parallel,implement,security,test,cleanup,review,complete"
EXIT_CODES = """exit codes: 0 complete · 1 failed or cancelled · 2 bad arguments · 3 workspace busy
  4 a gate needs a person (--headless, --on-gate fail) · 5 nobody answered within
  --gate-timeout · 130 stopped (resumable). 4 and 5 leave the run resumable and print the
  reason on one line of stderr, starting with "gate: "."""


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
    check.add_argument(
        "--tag",
        default=None,
        metavar="NAME",
        help="the Task Master tag to read (default: [run] taskmaster_tag, else the current tag)",
    )
    check.set_defaults(handler="plan")

    run = commands.add_parser(
        "run",
        help="run the pipeline on the workspace (the app, or --headless)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    workspace_arg(run)
    run_options(run)
    run.add_argument(
        "--goal", default="", help="what to build; the plan stage turns it into PLAN.md"
    )
    run.add_argument("--new", action="store_true", help="start a new run even if one is open")
    run.add_argument("--resume", action="store_true", help="resume the open run (the default)")
    run.set_defaults(handler="run")

    demo = commands.add_parser("demo", help="run the pipeline on a bundled sample project")
    demo.add_argument("--dir", default="", help="where to put the sample (default: a temp dir)")
    run_options(demo)
    demo.set_defaults(handler="demo")

    for action, text in (
        ("approve", "approve the stage that waits"),
        ("pause", "start no new stage or task"),
        ("resume", "undo pause"),
        ("cancel", "stop the run for good"),
    ):
        command = commands.add_parser(action, help=text)
        workspace_arg(command)
        command.set_defaults(handler="control", action=action, task="", feedback="")
    reject = commands.add_parser("reject", help="send the waiting stage back with feedback")
    workspace_arg(reject)
    reject.add_argument("--feedback", "-m", required=True, help="what to change")
    reject.set_defaults(handler="control", action="reject", task="")
    for action, text in (
        ("retry", "retry a failed task (or the failed stage)"),
        ("skip", "skip a task (or the waiting stage)"),
    ):
        command = commands.add_parser(action, help=text)
        workspace_arg(command)
        command.add_argument("task", nargs="?", default="", help="task ID; none: the stage")
        command.set_defaults(handler="control", action=action, feedback="")

    asking_commands(commands)
    take = commands.add_parser(
        "take",
        help="take a running task over: stop its agent, open its session in its worktree",
        description="Stop the task's agent, mark the task taken over (its dependents wait) "
        "and open the agent's own session resumed from the task's session id in the task's "
        "worktree: a new tmux window inside tmux, else the exact command is printed. Then "
        "`orchestrator-tui done TASK` commits and merges your work and marks it done.",
    )
    workspace_arg(take)
    take.add_argument("task", help="task ID")
    take.add_argument("--print", action="store_true", help="print the command, open no window")
    take.set_defaults(handler="take", done=False)
    done = commands.add_parser(
        "done", help="a task you took over: commit and merge its worktree, mark it done"
    )
    workspace_arg(done)
    done.add_argument("task", help="task ID")
    done.set_defaults(handler="take", done=True)

    status = commands.add_parser("status", help="one line for a tmux status bar, or --json")
    workspace_arg(status)
    status.add_argument("--json", action="store_true", help="the whole run state as JSON")
    status.set_defaults(handler="status")

    runs = commands.add_parser("runs", help="list the workspace's runs, newest first")
    workspace_arg(runs)
    runs.add_argument("--json", action="store_true", help="print the list as JSON")
    runs.add_argument(
        "--open",
        nargs="?",
        const="",
        default=None,
        metavar="ID",
        help="browse the runs in the app; with an ID (or a unique part of one, or 'last'), "
        "open that run read-only: its board, tasks, logs, summary and timeline",
    )
    runs.set_defaults(handler="runs")

    clean = commands.add_parser(
        "clean",
        help="remove the worktrees and branches of finished and abandoned runs",
        description="Remove the git worktrees and branches (orch/<run>, orch/tasks/<run>/*, "
        "orch/stray/<run>-*) of finished runs and of abandoned ones (stopped, with a newer "
        "run since). Kept unless told: the latest run, tasks with a merge conflict, and work "
        "that is on none of your branches (a complete run that did not land, changes kept "
        "aside). Your own branches are never touched; the runs' logs and reports stay. "
        "Refused while a run holds the workspace.",
    )
    workspace_arg(clean)
    clean.add_argument(
        "-n", "--dry-run", action="store_true", help="list what would be removed, remove nothing"
    )
    clean.add_argument("--all", action="store_true", help="the latest run too, once it is finished")
    clean.add_argument(
        "--include-conflicts",
        action="store_true",
        help="also tasks with a merge conflict (their worktree and branch) and their run branch",
    )
    clean.add_argument(
        "--include-unmerged",
        action="store_true",
        help="also work on none of your branches: a complete run that did not land, "
        "orch/stray/* side branches",
    )
    clean.set_defaults(handler="clean")

    serve = commands.add_parser(
        "serve",
        help="the app (or --monitor) in a web browser",
        description="Serve the app on the workspace's run (or, with --monitor, the monitor) "
        "to web browsers through textual-serve: open the printed address. Each browser tab "
        "is a session of its own; while one tab runs the app, the others get the monitor. "
        "Closing the app's tab stops the run resumably, as quitting the app does.",
    )
    workspace_arg(serve)
    serve.add_argument("--port", type=int, default=8000, help="the port (default: 8000)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        metavar="ADDR",
        help="the address to listen on (default: 127.0.0.1, this machine only); any other "
        "lets whoever reaches the port approve stages",
    )
    serve.add_argument("--monitor", action="store_true", help="serve the monitor, not the app")
    serve.add_argument(
        "--approve",
        default="",
        metavar="STAGES",
        help=f"auto-approve these gates: 'all' or a list from {STAGE_LIST}",
    )
    serve.add_argument("--concurrency", type=int, default=0, help="agents at once (config: 4)")
    serve.add_argument("--session", action="store_true", help=argparse.SUPPRESS)
    serve.set_defaults(handler="serve")

    monitor = commands.add_parser("monitor", help="a compact view that follows a run")
    monitor.add_argument("workspace", nargs="?", default=".", help="the workspace (default: .)")
    monitor.set_defaults(handler="monitor")

    tmux = commands.add_parser("tmux", help="open the monitor in a tmux side pane")
    workspace_arg(tmux)
    tmux.add_argument("--width", type=int, default=42, help="side pane width in columns")
    tmux.set_defaults(handler="tmux")

    agents = commands.add_parser(
        "agents",
        help="list agent profiles and the agent programs found on PATH",
        description="The workspace's agent profiles, and the agent programs this build knows "
        "(claude, codex, gemini, aider, claude-agent-acp, codex-acp, gemini --acp) found or "
        "missing on PATH. Only the known CLIs (claude, codex, gemini, aider) are run, with "
        "--version; a command or shell profile's program and the ACP adapters are never "
        "started, and an ACP profile only with --probe.",
    )
    workspace_arg(agents)
    agents.add_argument(
        "--probe", action="store_true", help="ACP profiles: start each and show its initialize"
    )
    agents.add_argument("--json", action="store_true", help="print the listing as JSON")
    agents.set_defaults(handler="agents")
    return parser


def asking_commands(commands: argparse._SubParsersAction) -> None:
    """The permission queue and the line to running agents (commands/permissions.py)."""
    queue = commands.add_parser("permissions", help="list the permission requests that wait")
    workspace_arg(queue)
    queue.add_argument("--json", action="store_true", help="as JSON")
    queue.set_defaults(handler="permissions", action="permissions")
    allow = commands.add_parser("allow", help="allow a waiting permission request")
    workspace_arg(allow)
    allow.add_argument("target", metavar="ID", help="the request's id (P1, …)")
    allow.add_argument(
        "--session", action="store_true", help="and the same for the rest of the agent's session"
    )
    allow.set_defaults(handler="permissions", action="allow")
    deny = commands.add_parser("deny", help="deny a waiting permission request")
    workspace_arg(deny)
    deny.add_argument("target", metavar="ID", help="the request's id (P1, …)")
    deny.add_argument("-m", "--message", default="", help="the reason the agent is given")
    deny.set_defaults(handler="permissions", action="deny")
    say = commands.add_parser("say", help="send a message to a task's running agent")
    workspace_arg(say)
    say.add_argument("target", metavar="TASK", help="the task's id")
    say.add_argument("text", nargs="+", help="the message")
    say.set_defaults(handler="permissions", action="say")
    interrupt = commands.add_parser(
        "interrupt", help="stop a task's agent's current turn (the task goes on)"
    )
    workspace_arg(interrupt)
    interrupt.add_argument("target", metavar="TASK", help="the task's id")
    interrupt.set_defaults(handler="permissions", action="interrupt")


def run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="no app: print events as lines")
    parser.add_argument(
        "--approve",
        default="",
        metavar="STAGES",
        help=f"auto-approve these gates: 'all' or a list from {STAGE_LIST}",
    )
    parser.add_argument("--concurrency", type=int, default=0, help="agents at once (config: 4)")
    parser.add_argument(
        "--fix-rounds",
        type=int,
        default=None,
        metavar="N",
        help="send-back rounds from a failed test or review gate ([stages.test] fix_rounds: 2)",
    )
    parser.add_argument(
        "--on-gate",
        choices=("wait", "fail"),
        default=None,
        help="--headless, at a gate that needs a person: wait for `approve` from another "
        "shell, or stop with exit code 4 (default: wait when stdin is a terminal, else fail)",
    )
    parser.add_argument(
        "--gate-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="--headless: wait at most this long at such a gate, then stop with exit code 5 "
        "(implies --on-gate wait)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    module = importlib.import_module(f"orchestrator_tui.commands.{args.handler}")
    # What start-up made (modules, classes, pydantic's schemas) lives as long as the process:
    # the cycle collector stops walking it, and runs a tenth as often (a 1,000-task run
    # spent ~110 ms in it, ~50 ms after this)
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 10, 10)
    try:
        return int(module.main(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a read-only or vanished directory: say so plainly
        from .infra.fsutil import describe_os_error  # not imported by every command

        print(f"orchestrator-tui: {describe_os_error(exc, exc.filename or '')}", file=sys.stderr)
        return 1
