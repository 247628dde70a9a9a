"""Prove it: SIGKILL the orchestrator at random moments of the demo run, resume each time,
and end exactly where an uninterrupted run ends.

CI runs 5 kills (its time is shared with the whole suite); set PROVE_KILLS=20 locally for
the full count of issue 8.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from orchestrator_tui.commands.demo import prepare_demo
from orchestrator_tui.core import events as ev
from orchestrator_tui.infra.store import RunFiles, latest_run_id, load_run, read_events

KILLS = int(os.environ.get("PROVE_KILLS", "5" if os.environ.get("CI") else "8"))
SPEED = 20.0
ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "200"}


def start(workspace: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator_tui", "run", "--headless", "--approve", "all",
         "-C", str(workspace)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ENV,
    )  # fmt: skip


def git(workspace: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=workspace, capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


def processes_in(workspace: Path) -> list[int]:
    """Processes whose working directory is inside the workspace (agents, tools)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == workspace or workspace in cwd.parents:
            found.append(int(entry.name))
    return found


def event_count(workspace: Path) -> int:
    run_id = latest_run_id(workspace)
    return len(read_events(RunFiles(workspace, run_id).events).events) if run_id else 0


def finish(workspace: Path) -> None:
    run = start(workspace)
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err.decode()[-3000:]


def test_random_kills_then_resume_match_an_uninterrupted_run(tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    prepare_demo(reference, SPEED)
    finish(reference)

    workspace = tmp_path / "crashed"
    prepare_demo(workspace, SPEED)
    rng = random.Random(8)
    kills = 0
    while kills < KILLS:
        before = event_count(workspace)
        run = start(workspace)
        while event_count(workspace) <= before and run.poll() is None:
            time.sleep(0.01)  # the engine is up and has written its RunStarted
        time.sleep(rng.uniform(0.0, 1.5))
        if run.poll() is not None:
            assert run.returncode == 0, run.stderr.read().decode()[-3000:] if run.stderr else ""
            break  # it finished before this kill (a new `run` now would start a new run)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=10)
        kills += 1
    else:
        finish(workspace)
    assert kills >= min(KILLS, 3), f"only {kills} kills landed"

    run_id = latest_run_id(workspace)
    assert run_id is not None
    files = RunFiles(workspace, run_id)
    events = read_events(files.events).events
    state, warnings = load_run(files)
    assert all("torn" in w for w in warnings), warnings  # the log replays cleanly
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert state.outcome == "complete"

    done = [e for e in events if isinstance(e, ev.TaskFinished) and e.status == "done"]
    assert Counter(e.task for e in done) == Counter({f"T{i}": 1 for i in range(1, 9)})
    for finished in done:  # no finished task ran again
        later = [e for e in events if isinstance(e, ev.TaskStarted) and e.task == finished.task
                 and e.seq > finished.seq]  # fmt: skip
        assert later == []
    resumed = [e for e in events if isinstance(e, ev.RunStarted) and e.resumed]
    assert len(resumed) == kills

    ref_state, _ = load_run(RunFiles(reference, latest_run_id(reference)))
    assert {t: s.status for t, s in state.tasks.items()} == {
        t: s.status for t, s in ref_state.tasks.items()
    }
    assert git(workspace, "rev-parse", "HEAD^{tree}") == git(reference, "rev-parse", "HEAD^{tree}")
    deadline = time.monotonic() + 10
    while processes_in(workspace) and time.monotonic() < deadline:
        time.sleep(0.1)  # a scan tool of a killed run may still be finishing
    assert processes_in(workspace) == []
