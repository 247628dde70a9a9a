"""`run --headless` in a CI job: every exit code, from a real headless subprocess whose stdin
is not a terminal (as in CI), and output that is not wrapped when it goes to a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator_tui.infra.store import RunFiles, latest_run_id, load_run

CLI = [sys.executable, "-m", "orchestrator_tui"]
ENV = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
PLAN = """\
# Plan: Greeting

## T1: Hello
depends: none
files: hello.txt

## T2: World
depends: T1
files: world.txt
"""
CONFIG = """\
[run]
isolation = "none"
retries = 0
[agents]
default = "simulated"
[agents.simulated]
backend = "simulated"
speed = 20
script = ".orchestrator/sim.toml"
"""


def workspace(root: Path, script: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "PLAN.md").write_text(PLAN, encoding="utf-8")
    (root / ".orchestrator").mkdir(exist_ok=True)
    (root / ".orchestrator" / "config.toml").write_text(CONFIG, encoding="utf-8")
    (root / ".orchestrator" / "sim.toml").write_text(script, encoding="utf-8")
    return root


def run(ws: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "run", "--headless", "-C", str(ws), *args],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, env=ENV,
    )  # fmt: skip


def start(ws: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "run", "--headless", "-C", str(ws), *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=ENV,
    )  # fmt: skip


def control(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "-C", str(ws)], capture_output=True, text=True, timeout=60, env=ENV
    )


def waits_at(ws: Path, stage: str, process: subprocess.Popen[str], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate(timeout=10)
        run_id = latest_run_id(ws)
        if run_id:
            state, _ = load_run(RunFiles(ws, run_id))
            if state.gate and state.gate.stage.value == stage:
                return
        time.sleep(0.05)
    raise AssertionError(f"never waited at {stage}")


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    return process.returncode, out, err


def gate_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("gate: ")]


def test_exit_0_when_the_run_completes(tmp_path: Path) -> None:
    done = run(workspace(tmp_path / "ws"), "--approve", "all")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "run complete" in done.stdout


def test_exit_4_at_a_gate_that_needs_a_person_when_stdin_is_not_a_terminal(
    tmp_path: Path,
) -> None:
    ws = workspace(tmp_path / "ws")
    started = time.monotonic()
    done = run(ws)  # no --approve, no --on-gate: nobody can answer, so it does not wait
    assert done.returncode == 4, done.stdout + done.stderr
    assert time.monotonic() - started < 30
    (line,) = gate_lines(done.stderr)
    assert line.startswith("gate: Plan needs approval: adopted PLAN.md: 2 tasks")
    assert "⏸ Plan waits" in done.stdout  # the gate it stopped at is printed
    state, _ = load_run(RunFiles(ws, latest_run_id(ws) or ""))
    assert not state.finished and state.gate is not None  # resumable, the gate still open
    explicit = run(ws, "--on-gate", "fail")
    assert explicit.returncode == 4 and gate_lines(explicit.stderr)


def test_exit_4_at_a_failed_gate_even_with_approve_all(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws", "[tasks.T1]\nfail_attempts = 9\nexit_code = 3\n")
    done = run(ws, "--approve", "all")
    assert done.returncode == 4, done.stdout + done.stderr
    (line,) = gate_lines(done.stderr)
    assert line.startswith("gate: Implement failed: ")
    assert "T1" in line


def test_exit_5_when_nobody_answers_within_the_gate_timeout(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    started = time.monotonic()
    done = run(ws, "--approve", "plan", "--gate-timeout", "1.5")
    elapsed = time.monotonic() - started
    assert done.returncode == 5, done.stdout + done.stderr
    assert elapsed >= 1.5
    (line,) = gate_lines(done.stderr)
    assert line.startswith("gate: Parallel needs approval (no answer in 1.5 s): ")


def test_on_gate_wait_takes_the_answer_from_another_shell(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    process = start(ws, "--on-gate", "wait", "--approve", "parallel,implement,security,test,"
                    "cleanup,review,complete")  # fmt: skip
    waits_at(ws, "plan", process)
    time.sleep(0.5)  # still waiting (CI mode would have stopped at once)
    assert process.poll() is None
    assert control(ws, "approve").returncode == 0
    code, out, err = finish(process)
    assert code == 0, out + err
    assert "approve Plan by cli" in out


def test_exit_1_when_cancelled_and_130_when_stopped(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    process = start(ws, "--on-gate", "wait")
    waits_at(ws, "plan", process)
    process.send_signal(signal.SIGTERM)
    code, _, err = finish(process)
    assert code == 130, err
    assert "orchestrator-tui run` resumes the run" in err
    process = start(ws, "--on-gate", "wait")
    waits_at(ws, "plan", process)
    assert control(ws, "cancel").returncode == 0
    code, _, err = finish(process)
    assert code == 1, err
    assert "run cancelled" in err


def test_exit_2_for_bad_arguments_and_3_when_the_workspace_is_busy(tmp_path: Path) -> None:
    ws = workspace(tmp_path / "ws")
    for args in (["--gate-timeout", "0"], ["--on-gate", "later"],
                 ["--on-gate", "fail", "--gate-timeout", "5"]):  # fmt: skip
        assert run(ws, *args).returncode == 2, args
    app = subprocess.run(
        [*CLI, "run", "-C", str(ws), "--on-gate", "fail"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=ENV,
    )  # fmt: skip
    assert app.returncode == 2 and "--headless" in app.stderr
    holder = start(ws, "--on-gate", "wait")
    try:
        waits_at(ws, "plan", holder)
        busy = run(ws, "--approve", "all")
        assert busy.returncode == 3, busy.stderr
        assert "another orchestrator runs here" in busy.stderr
    finally:
        holder.send_signal(signal.SIGTERM)
        finish(holder)


def test_output_to_a_file_is_not_wrapped(tmp_path: Path) -> None:
    ws = workspace(tmp_path / ("a-workspace-with-a-long-name-" * 4 + "end"))
    done = run(ws, "--approve", "all")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.endswith(f"started in {ws}") for line in lines), lines[:3]
    report = f"- `{ws}/.orchestrator/runs/{latest_run_id(ws)}/analysis.md`"
    assert report in lines  # the summary's lines stay whole too


@pytest.mark.parametrize("option", ["--on-gate", "--gate-timeout"])
def test_help_documents_the_ci_options_and_exit_codes(option: str) -> None:
    shown = subprocess.run(
        [*CLI, "run", "--help"], capture_output=True, text=True, timeout=60, env=ENV
    )
    text = " ".join(shown.stdout.split())
    assert option in text
    assert "4 a gate needs a person" in text and "5 nobody answered" in text


BROKEN_RULE = """\
import sys
from orchestrator_tui.core import decisions
def broken(*args, **kwargs):
    raise ZeroDivisionError("a rule divided by zero")
setattr(decisions, sys.argv.pop(1), broken)
from orchestrator_tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    ("rule", "code", "said"),
    [
        # the engine thread's own rule: the run stops, resumable, exit 1
        ("arrive_at_gate", 1, "the engine failed: ZeroDivisionError: a rule divided by zero"),
        # a rule inside a stage: that stage fails with the reason, at its gate
        ("after_attempt", 4, "the implement stage crashed: ZeroDivisionError: a rule divided"),
    ],
)
def test_a_rule_that_raises_ends_the_run_visibly(
    tmp_path: Path, rule: str, code: int, said: str
) -> None:
    """An exception inside a decision function is never a silent hang nor a 'stopped': the
    reason is on stderr and in the log, and the run stays resumable for a fixed version."""
    ws = workspace(tmp_path / "ws")
    done = subprocess.run(
        [sys.executable, "-c", BROKEN_RULE, rule, "run", "--headless", "-C", str(ws),
         "--approve", "all"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, env=ENV,
    )  # fmt: skip
    assert done.returncode == code, done.stdout + done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr
    state, _ = load_run(RunFiles(ws, latest_run_id(ws)))
    assert not state.finished
    assert any("ZeroDivisionError" in notice for notice in state.notices)
