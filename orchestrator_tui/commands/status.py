"""`orchestrator-tui status`: one line for tmux's status-right, or the whole state as JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.models import STAGES
from ..core.settle import settled
from ..core.state import RunState
from ..core.tally import task_tally
from ..infra.session import lock_is_stale, read_lock
from ..infra.store import RunFiles, latest_run_id, load_run


def main(args: argparse.Namespace) -> int:
    workspace = Path(args.workspace)
    run_id = latest_run_id(workspace)
    if run_id is None:
        print("{}" if args.json else "orch: no run")
        return 0 if not args.json else 1
    state, _warnings = load_run(RunFiles(workspace, run_id))
    if args.json:
        sys.stdout.write(state.model_dump_json(indent=2) + "\n")
        return 0
    alive = engine_alive(workspace)
    print(status_line(settled(state, alive), alive))
    return 0


def engine_alive(workspace: Path) -> bool:
    holder = read_lock(workspace)
    return holder is not None and lock_is_stale(holder) is None


def status_line(state: RunState, alive: bool) -> str:
    """E.g. `orch ⏸ security · 5/8 done · 2 running · 1 failed · $0.12`. `state` is
    settled (monitor.settle): with the engine stopped, nothing is "running"."""
    if state.finished:
        head = f"orch {'✓' if state.outcome == 'complete' else '✗'} {state.outcome}"
    else:
        stage = state.current_stage
        number = f"{STAGES.index(stage) + 1}/9 " if stage else ""
        mark = "⏸ " if state.gate else ("‖ " if state.paused else "")
        head = f"orch {mark}{number}{stage.value if stage else ''}"
        if state.gate:
            head += " waits" if not state.gate.failed else " failed"
    parts = [head.rstrip()]
    if state.tasks:
        parts.append(task_tally(state))
    if state.cost_usd:
        parts.append(f"${state.cost_usd:.2f}")
    if not state.finished and not alive:
        parts.append("engine stopped")
    return " · ".join(parts)
