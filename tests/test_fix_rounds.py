"""Issue 13, what to build 3: fix rounds are bounded, headless takes `--fix-rounds N` and
sends back without asking at an auto-approved gate, the board shows the round (↺2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from stage_support import git_repo

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName
from orchestrator_tui.infra.store import RunFiles, latest_run_id, load_run, read_events
from orchestrator_tui.ui.widgets.pipeline_board import PipelineBoard

CLI = [sys.executable, "-m", "orchestrator_tui"]
NEVER_FIXES = r"""
import re, sys
from pathlib import Path
prompt = Path(sys.argv[1]).read_text()
task = re.search(r"^ID: (\S+)", prompt, re.M).group(1)
Path("calc.py").write_text("def mul(a, b):\n    return a + b\n")  # wrong, every time
Path("tests/test_mul.py").write_text(
    "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"
)
print("done with", task, "sent back" if "Sent back from the test stage" in prompt else "")
"""
PLAN = "# Plan: Multiply\n\n## T1: Multiply\ndepends: none\nfiles: calc.py, tests/test_mul.py\n"


def project(root: Path, agent: Path) -> Path:
    config = (
        '[agents]\ndefault = "fake"\n[agents.fake]\nbackend = "command"\n'
        f'command = ["{sys.executable}", "{agent}", "{{prompt_file}}"]\n'
        "[run]\nretry_backoff = 0.05\n[notify]\nbell = false\n"
    )
    files = {
        "PLAN.md": PLAN,
        "calc.py": "",
        "tests/test_mul.py": "",
        "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
        ".gitignore": ".orchestrator/runs/\n.orchestrator/worktrees/\n.orchestrator/lock\n",
        ".orchestrator/config.toml": config,
    }
    return git_repo(root, files)


def headless(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [*CLI, "run", "--headless", "-C", str(ws), "--approve", "all", "--on-gate", "fail", *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=240, env=env,
    )  # fmt: skip


@pytest.mark.timeout(300)
def test_headless_fix_rounds_send_back_without_asking_and_stop_at_the_bound(
    tmp_path: Path,
) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(NEVER_FIXES)
    ws = project(tmp_path / "ws", agent)
    done = headless(ws, "--fix-rounds", "2")
    assert done.returncode == 4, done.stdout + done.stderr  # a person must decide now
    files = RunFiles(ws, latest_run_id(ws) or "")
    rounds = [e for e in read_events(files.events).events if isinstance(e, ev.FixRoundStarted)]
    assert [(r.round, r.tasks) for r in rounds] == [(1, ("T1",)), (2, ("T1",))]
    state, _ = load_run(files)
    assert state.fix_round == 2 and state.tasks["T1"].attempt == 3
    assert state.gate is not None and state.gate.stage == StageName.TEST and state.gate.failed
    out = done.stdout
    assert out.count("sending back") == 2, out  # both without asking
    assert "no send-back: no fix rounds left (2 of 2 used" in out, out  # why it stopped
    assert state.gate.reject_hint.startswith("No send-back: no fix rounds left (2 of 2 used")
    details = state.stages[StageName.TEST].details
    assert "no fix rounds left (all 2 used" in details and "reject** to send" not in details
    board = PipelineBoard()
    board.state = state
    assert board.below(StageName.IMPLEMENT).endswith("↺2")
    assert board.below(StageName.SECURITY).endswith("↺2")
    assert board.below(StageName.TEST) == "DECIDE"
    assert "↺" not in board.below(StageName.CLEANUP)  # not reached in a round


@pytest.mark.timeout(300)
def test_headless_fix_rounds_zero_never_sends_back(tmp_path: Path) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(NEVER_FIXES)
    ws = project(tmp_path / "ws", agent)
    done = headless(ws, "--fix-rounds", "0")
    assert done.returncode == 4, done.stdout + done.stderr
    state, _ = load_run(RunFiles(ws, latest_run_id(ws) or ""))
    assert state.fix_round == 0 and state.tasks["T1"].attempt == 1
    assert "no send-back: send-back is off" in done.stdout, done.stdout
    assert state.gate is not None and "No send-back" in state.gate.reject_hint


def test_a_negative_fix_rounds_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "PLAN.md").write_text(PLAN)
    done = headless(tmp_path, "--fix-rounds", "-1")
    assert done.returncode == 2 and "--fix-rounds must be 0 or more" in done.stderr


REVIEW_AGENT = r"""
import re, sys
from pathlib import Path
prompt = Path(sys.argv[1]).read_text()
log = Path(sys.argv[2])
stage = re.search(r"^# Stage \d+: (\w+)", prompt, re.M)
if stage and stage.group(1) == "Review":
    first = not log.exists()
    log.write_text("reviewed\n")
    if first:
        print("T1 divides by zero when b is 0: return 0 there.\n\nVerdict: changes requested")
    else:
        print("All good now.\n\nVerdict: approve")
    sys.exit(0)
task = re.search(r"^ID: (\S+)", prompt, re.M).group(1)
fixed = "Sent back from the review stage" in prompt and "divides by zero" in prompt
body = "return a / b if b else 0" if fixed else "return a / b"
Path("calc.py").write_text("def div(a, b):\n    " + body + "\n")
print("done with", task)
"""


@pytest.mark.timeout(300)
def test_changes_requested_at_an_auto_approved_review_go_back_to_the_named_task(
    tmp_path: Path,
) -> None:
    """What to build 3: the review gate sends back too; the task the review names reruns
    with the review in its prompt, and the run ends approved."""
    agent = tmp_path / "agent.py"
    agent.write_text(REVIEW_AGENT)
    ws = project(tmp_path / "ws", agent)
    config = ws / ".orchestrator" / "config.toml"
    text = config.read_text().replace('"{prompt_file}"]', f'"{{prompt_file}}", "{tmp_path}/r"]')
    config.write_text(text + '[stages.review]\nagent = "fake"\n')
    (ws / "PLAN.md").write_text(
        PLAN.replace("Multiply", "Divide").replace(", tests/test_mul.py", "")
    )
    done = headless(ws, "--fix-rounds", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    files = RunFiles(ws, latest_run_id(ws) or "")
    (round_one,) = [
        e for e in read_events(files.events).events if isinstance(e, ev.FixRoundStarted)
    ]
    assert round_one.stage == StageName.REVIEW and round_one.tasks == ("T1",)
    assert "divides by zero" in round_one.feedback["T1"]
    state, _ = load_run(files)
    assert state.outcome == "complete" and state.tasks["T1"].attempt == 2
    assert state.stages[StageName.REVIEW].evidence["verdict"] == "approve"
    branch = f"orch/{state.run_id}"
    shown = subprocess.run(
        ["git", "-C", str(ws), "show", f"{branch}:calc.py"],
        capture_output=True, text=True, timeout=30, check=True,
    ).stdout  # fmt: skip
    assert "if b else 0" in shown


def test_a_stage_a_fix_round_reset_shows_the_round_not_the_last_rounds_time() -> None:
    """Seen while scrubbing a past run: after a send-back, the stages waiting to run again
    showed the time of the round before; they show only the round until they start."""
    from orchestrator_tui.core.state import RunState, replay

    at = 1000.0
    events: list[ev.EventBase] = []
    for stage in (StageName.IMPLEMENT, StageName.SECURITY, StageName.TEST):
        events += [
            ev.StageStarted(stage=stage, at=at),
            ev.StageFinished(stage=stage, status="done", summary="ok", at=at + 12),
        ]
        at += 20
    state = replay(events, RunState())
    board = PipelineBoard()
    board.state = state
    assert board.below(StageName.SECURITY) == "12s"
    state = replay([ev.FixRoundStarted(stage=StageName.TEST, round=1, tasks=("T1",))], state)
    board.state = state
    for stage in (StageName.IMPLEMENT, StageName.SECURITY, StageName.TEST):
        assert board.below(stage) == "↺1", stage  # pending again: no stale time
    state = replay([ev.StageStarted(stage=StageName.IMPLEMENT, at=at)], state)
    board.state, board.now = state, at + 3
    assert board.below(StageName.IMPLEMENT) == "3.0s ↺1"
