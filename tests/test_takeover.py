"""Taking a task over by hand (core/takeover.py, engine/takeover.py, `take` / `done`):
the resume command per backend, what take and done mean in each state, the engine stopping
the agent and waiting with the task's dependents, the worktree committed and merged after
`done` (real git), and a taken-over task surviving a kill -9 of the orchestrator."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agent_support import fake, git, make_repo
from engine_support import Background, Recorder, engine_for

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.commands import Command
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.decisions import CommandFacts
from orchestrator_tui.core.models import STAGES, TaskStatus
from orchestrator_tui.core.protocols import MergeResult
from orchestrator_tui.core.state import RunState, TaskState
from orchestrator_tui.core.takeover import (
    after_hand_back,
    carried_env,
    decide_takeover,
    resume_command,
    shell_line,
    tmux_window,
)
from orchestrator_tui.infra.store import RunFiles, latest_run_id, load_run, read_events

SID = "4c082da9-4816-4943-bba1-0ff841b49651"

# ---- the resume command, per backend --------------------------------------------------


@pytest.mark.parametrize(
    ("backend", "executable", "acp", "argv"),
    [
        ("claude", "", (), ("claude", "--resume", SID)),
        ("claude", "/opt/bin/claude", (), ("/opt/bin/claude", "--resume", SID)),
        ("codex", "", (), ("codex", "resume", SID)),
        ("gemini", "", (), ("gemini", "--resume", SID)),
        ("acp", "", ("claude-agent-acp",), ("claude", "--resume", SID)),
        ("acp", "", ("/x/node_modules/.bin/codex-acp",), ("codex", "resume", SID)),
        ("acp", "", ("/usr/local/bin/gemini", "--acp"), ("/usr/local/bin/gemini", "--resume", SID)),
    ],
)
def test_the_resume_command_per_backend(backend, executable, acp, argv) -> None:
    resume = resume_command(backend, executable, acp, SID)
    assert resume.argv == argv and resume.note == ""


@pytest.mark.parametrize("backend", ["aider", "command", "shell", "simulated"])
def test_backends_without_a_session_say_no_resume(backend) -> None:
    resume = resume_command(backend, "", ["my-agent", "{prompt_file}"], SID)
    assert resume.argv == () and resume.note == f"no resume: the {backend} backend keeps no session"


def test_an_unknown_acp_agent_or_no_session_id() -> None:
    assert resume_command("acp", "", ["my-acp"], SID).note.startswith("no resume: my-acp")
    fresh = resume_command("claude", "", (), "")
    assert fresh.argv == ("claude",) and "no session id" in fresh.note


def test_the_printed_command_and_the_tmux_window() -> None:
    argv = ("claude", "--resume", SID)
    env = {"HOME": "/tmp/h", "ANTHROPIC_BASE_URL": "http://127.0.0.1:1"}
    assert shell_line("/w t/T1", argv, env) == (
        f"cd '/w t/T1' && ANTHROPIC_BASE_URL=http://127.0.0.1:1 HOME=/tmp/h claude --resume {SID}"
    )
    assert tmux_window("/w/T1", argv, env, "take-T1") == [
        "tmux", "new-window", "-n", "take-T1", "-c", "/w/T1",
        "-e", "ANTHROPIC_BASE_URL=http://127.0.0.1:1", "-e", "HOME=/tmp/h",
        f"claude --resume {SID}",
    ]  # fmt: skip
    assert shell_line("/w/T1", (), {"HOME": "/h"}) == "cd /w/T1"
    assert tmux_window("/w/T1", (), {}, "take-T1")[-2:] == ["-c", "/w/T1"]  # a shell


def test_secrets_are_not_carried_into_the_event() -> None:
    env, left_out = carried_env({"ANTHROPIC_API_KEY": "sk-ant-api03-" + "x" * 30}, {"HOME": "/h"})
    assert env == {"HOME": "/h"} and left_out == ("ANTHROPIC_API_KEY",)


# ---- what take and done mean in each state ---------------------------------------------


def state_with(**statuses: TaskStatus) -> RunState:
    return RunState(tasks={t: TaskState(id=t, status=s) for t, s in statuses.items()})


def command(action: str, task: str) -> Command:
    return Command(id="c1", action=action, task=task)  # type: ignore[arg-type]


def facts(running: set[str] = frozenset(), plan: tuple[str, ...] = ("T1",), **more) -> CommandFacts:
    return CommandFacts(
        implementing=True, running=frozenset(running), plan_ids=frozenset(plan), **more
    )


def test_take_stops_a_running_agent() -> None:
    answer = decide_takeover(
        state_with(T1=TaskStatus.RUNNING), command("take", "T1"), facts({"T1"})
    )
    assert answer.reply.ok and answer.reply.take_over == ("T1",) and answer.events == ()


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (TaskStatus.PENDING, "T1 has not started: there is no agent session to take over yet"),
        (TaskStatus.DONE, "T1 is done and merged: nothing to take over"),
        (TaskStatus.FAILED, "T1 failed and its agent has exited: retry it, then take it over"),
        (TaskStatus.BLOCKED, "T1 is blocked and has not run"),
        (TaskStatus.SKIPPED, "T1 is skipped"),
        (TaskStatus.TAKEN_OVER, "T1 is already taken over: `done T1` when you have finished"),
    ],
)
def test_taking_over_a_task_that_is_not_running_is_refused(status, why) -> None:
    answer = decide_takeover(state_with(T1=status), command("take", "T1"), facts())
    assert not answer.reply.ok and answer.reply.message.startswith(why), answer.reply.message
    assert answer.reply.take_over == ()


def test_take_refusals_outside_the_stage_or_the_plan_or_twice() -> None:
    state = state_with(T1=TaskStatus.RUNNING)
    idle = CommandFacts(implementing=False)
    assert (
        "implement stage is not running"
        in decide_takeover(state, command("take", "T1"), idle).reply.message
    )
    assert decide_takeover(state, command("take", "T9"), facts()).reply.message == "no task 'T9'"
    twice = decide_takeover(
        state, command("take", "T1"), facts({"T1"}, taking_over=frozenset({"T1"}))
    )
    assert twice.reply.message == "T1 is being taken over: its agent is stopping"


def test_done_in_each_state() -> None:
    taken = decide_takeover(state_with(T1=TaskStatus.TAKEN_OVER), command("done", "T1"), facts())
    assert taken.reply.ok and taken.reply.hand_back == ("T1",)
    running = decide_takeover(
        state_with(T1=TaskStatus.RUNNING), command("done", "T1"), facts({"T1"})
    )
    assert running.reply.message == "T1 is running: take it over first (`take T1`)"
    failed = decide_takeover(state_with(T1=TaskStatus.FAILED), command("done", "T1"), facts())
    assert not failed.reply.ok and "not taken over" in failed.reply.message


def test_after_hand_back_done_conflict_or_failed() -> None:
    state = state_with(T1=TaskStatus.TAKEN_OVER, T2=TaskStatus.PENDING)
    merged = after_hand_back(
        state, "T1", MergeResult(ok=True, commit="abc", files=("a",)), "", ["T2"]
    )
    assert [e.kind for e in merged] == ["task_merged", "task_finished"]
    assert merged[1].status == "done" and merged[1].reason == "done by hand (taken over)"
    conflict = after_hand_back(
        state, "T1", MergeResult(ok=False, conflict_files=("a",)), "", ["T2"]
    )
    assert [e.kind for e in conflict] == ["merge_conflict", "task_finished", "task_blocked"]
    broken = after_hand_back(state, "T1", None, "git said no", ["T2"])
    assert broken[0].status == "failed" and "git said no" in broken[0].reason


def test_a_taken_over_task_is_not_retried_nor_reset_and_its_dependents_wait() -> None:
    from orchestrator_tui.core.decisions import resets_for_stage, retry_task
    from orchestrator_tui.core.models import Task
    from orchestrator_tui.core.scheduler import Scheduler

    state = state_with(T1=TaskStatus.TAKEN_OVER, T2=TaskStatus.PENDING)
    assert resets_for_stage(state, {"T1", "T2"}, "") == []
    refused = retry_task(state, "T1")
    assert refused.reply.message == "T1 is taken over: `done T1` merges your work"
    scheduler = Scheduler([Task(id="T1", title="a"), Task(id="T2", title="b", depends=("T1",))])
    scheduler.update({"T1": TaskStatus.TAKEN_OVER, "T2": TaskStatus.PENDING})
    assert scheduler.ready() == [] and scheduler.pick([], 4) == []


# ---- the engine, a fake claude and real git ------------------------------------------------

PLAN = """\
# Plan: by hand

## T1: By hand
depends: none
files: hand.txt

SCENARIO: hang

## T2: After
depends: T1
files: after.txt

WRITE_FILE: after.txt
CONTENT: after T1
"""


def claude_config(**run: object) -> dict:
    return {
        "agents": {
            "default": "claude",
            "claude": {"backend": "claude", "executable": fake("claude")},
        },
        "run": {"retries": 0, "concurrency": 2, **run},
    }


def session_of(recorder: Recorder, task: str) -> str:
    for event in recorder.of(ev.TaskOutput):
        for line in event.lines if event.task == task else ():
            found = re.search(r"· session ([0-9a-f-]{36})", line)
            if found:
                return found.group(1)
    return ""


def test_take_then_done_in_the_engine_with_real_git(tmp_path: Path) -> None:
    workspace = make_repo(tmp_path / "ws", {"README.md": "hi\n", "PLAN.md": PLAN})
    recorder = Recorder()
    engine = engine_for(workspace, config_from_dict(claude_config()), recorder, frozenset(STAGES))
    with Background(engine):
        deadline = time.monotonic() + 30
        while not session_of(recorder, "T1") and time.monotonic() < deadline:
            time.sleep(0.05)
        session = session_of(recorder, "T1")
        assert session, "the fake claude printed no session"
        early = engine.submit("take", "T2")  # not started: refused with the reason
        recorder.wait_for(lambda e: isinstance(e, ev.CommandApplied) and e.command_id == early.id)
        take = engine.submit("take", "T1")
        taken = recorder.wait_for(lambda e: isinstance(e, ev.TaskTakenOver), timeout=30)
        assert taken.command == (fake("claude"), "--resume", session)
        assert taken.session_id == session and taken.backend == "claude"
        workdir = Path(taken.workdir)
        assert workdir.is_dir() and workdir != workspace

        time.sleep(0.5)  # the stage waits: the dependent does not start, T1 is not retried
        state = engine.state
        assert state.tasks["T1"].status == TaskStatus.TAKEN_OVER
        assert state.tasks["T2"].status == TaskStatus.PENDING
        assert [e.task for e in recorder.of(ev.TaskStarted)] == ["T1"]
        retry = engine.submit("retry", "T1")
        (workdir / "hand.txt").write_text("written by a person\n")  # the person's work
        done = engine.submit("done", "T1")
        recorder.wait_for(
            lambda e: isinstance(e, ev.TaskFinished) and e.task == "T2" and e.status == "done",
            timeout=30,
        )
    answers = {e.command_id: e for e in recorder.of(ev.CommandApplied)}
    assert not answers[early.id].ok and "T2 has not started" in answers[early.id].message
    assert answers[take.id].ok
    assert not answers[retry.id].ok and "`done T1`" in answers[retry.id].message
    assert answers[done.id].ok
    finished = [e for e in recorder.of(ev.TaskFinished) if e.task == "T1"]
    assert [(e.status, e.reason) for e in finished] == [("done", "done by hand (taken over)")]
    run_branch = f"orch/{engine.state.run_id}"
    assert git(workspace, "show", f"{run_branch}:hand.txt") == "written by a person"
    assert git(workspace, "show", f"{run_branch}:after.txt") == "after T1"
    assert not workdir.exists()  # merged: the task's worktree is gone, as after an agent


# ---- the CLI, a real orchestrator process, kill -9 -------------------------------------------

ENV = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "200"}
ENV.pop("TMUX", None)  # the command is printed, no window opened


def cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator_tui", *args],
        capture_output=True, text=True, env=ENV, timeout=timeout, check=False,
    )  # fmt: skip


def start(workspace: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrator_tui", "run", "--headless", "--approve", "all",
         "-C", str(workspace)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ENV,
        start_new_session=True,
    )  # fmt: skip


def events_of(workspace: Path) -> list[ev.EventBase]:
    run_id = latest_run_id(workspace)
    return read_events(RunFiles(workspace, run_id).events).events if run_id else []


def wait_until(test, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if test():
            return
        time.sleep(0.1)
    raise AssertionError("not in time")


def state_of(workspace: Path) -> RunState:
    return load_run(RunFiles(workspace, latest_run_id(workspace)))[0]


def kill_group(run: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=10)


def test_kill_9_while_taken_over_then_resume_keeps_it_then_done_merges(tmp_path: Path) -> None:
    import tomli_w

    workspace = make_repo(tmp_path / "ws", {"README.md": "hi\n", "PLAN.md": PLAN})
    (workspace / ".orchestrator").mkdir()
    (workspace / ".orchestrator" / "config.toml").write_bytes(
        tomli_w.dumps(claude_config()).encode()
    )
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "config")
    run = start(workspace)
    try:
        refused = None
        wait_until(lambda: any(isinstance(e, ev.TaskStarted) for e in events_of(workspace)))
        refused = cli("take", "T2", "-C", str(workspace))
        assert refused.returncode == 1 and "refused: T2 has not started" in refused.stdout
        taken = cli("take", "T1", "-C", str(workspace), "--print")
        assert taken.returncode == 0, taken.stdout + taken.stderr
        state = state_of(workspace)
        task = state.tasks["T1"]
        assert task.status == TaskStatus.TAKEN_OVER and task.session_id
        expected = f"cd {task.workdir} && {fake('claude')} --resume {task.session_id}"
        assert expected in taken.stdout and "orchestrator-tui done T1" in taken.stdout
    finally:
        kill_group(run)  # kill -9 while taken over

    again = cli("take", "T1", "-C", str(workspace), "--print")  # no engine: opened again
    assert again.returncode == 0 and expected in again.stdout
    run = start(workspace)  # resume
    try:
        wait_until(lambda: sum(isinstance(e, ev.RunStarted) for e in events_of(workspace)) == 2)
        time.sleep(1.0)
        state = state_of(workspace)
        assert state.tasks["T1"].status == TaskStatus.TAKEN_OVER
        assert state.tasks["T2"].status == TaskStatus.PENDING
        started = [e.task for e in events_of(workspace) if isinstance(e, ev.TaskStarted)]
        assert started == ["T1"]  # not run again
        Path(task.workdir, "hand.txt").write_text("by hand\n")
        done = cli("done", "T1", "-C", str(workspace))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "T1 is done: done by hand (taken over)" in done.stdout
        finished = [e for e in events_of(workspace) if isinstance(e, ev.TaskFinished)]
        assert finished[0].task == "T1" and finished[0].duration > 1.0  # agent + person
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()[-3000:]
    finally:
        kill_group(run)
    run_branch = f"orch/{state.run_id}"
    assert git(workspace, "show", f"{run_branch}:hand.txt") == "by hand"
    assert git(workspace, "show", f"{run_branch}:after.txt") == "after T1"
    assert state_of(workspace).outcome == "complete"


# ---- the app's key ----------------------------------------------------------------------------


def test_the_t_key_takes_over_then_hands_back(tmp_path: Path, monkeypatch) -> None:
    from app_support import Messages, options_for, run_async, select, sim_config, wait_until

    from orchestrator_tui.core.models import StageName
    from orchestrator_tui.ui.app import create_app
    from orchestrator_tui.ui.screens.quit_confirm import QuitScreen

    monkeypatch.delenv("TMUX", raising=False)  # the command is shown, no window opened
    root = tmp_path / "ws"
    root.mkdir()
    (root / "PLAN.md").write_text(
        "# Plan: key\n\n## A: Slow\ndepends: none\nfiles: a.py\n\n"
        "## B: After\ndepends: A\nfiles: b.py\n",
        encoding="utf-8",
    )
    (root / "sim.toml").write_text("[tasks.A]\nduration = 2000\n", encoding="utf-8")
    app = create_app(
        options_for(root, approve=frozenset(StageName), config=sim_config(script="sim.toml")),
        animations=False,
    )
    messages = Messages()

    @run_async
    async def drive() -> None:
        app.handle.open()
        async with app.run_test(size=(120, 40), message_hook=messages) as pilot:
            await wait_until(
                pilot,
                lambda: (
                    app.state.tasks.get("A") and app.state.tasks["A"].status == TaskStatus.RUNNING
                ),
                20,
            )
            await select(pilot, app, "B")
            await pilot.press("t")  # B has not started: the engine says why
            await wait_until(
                pilot, lambda: any("B has not started" in m for _, m in messages.notes()), 10
            )
            await select(pilot, app, "A")
            await pilot.press("t")
            await wait_until(
                pilot, lambda: app.state.tasks["A"].status == TaskStatus.TAKEN_OVER, 20
            )
            await wait_until(pilot, lambda: any("A is yours" in m for _, m in messages.notes()), 10)
            assert app.state.tasks["B"].status == TaskStatus.PENDING
            await pilot.press("t")  # again: done
            await wait_until(pilot, lambda: app.state.tasks["B"].status == TaskStatus.DONE, 20)
            await pilot.press("ctrl+q")
            if isinstance(app.screen, QuitScreen):
                await pilot.press("y")
            await wait_until(pilot, lambda: not app.is_running, timeout=20)
        app.shutdown_engine()

    drive()
    notes = [m for _, m in messages.notes() if "A is yours" in m]
    assert "no resume: the simulated backend keeps no session" in notes[0]
    assert f"Run: cd {root}" in notes[0] and "press t again" in notes[0]
    assert app.state.tasks["A"].reason == "done by hand (taken over)"


def test_headless_prints_the_take_over_and_the_tally_names_it() -> None:
    import io

    from rich.console import Console

    from orchestrator_tui.headless import HeadlessConsole
    from orchestrator_tui.monitor.settle import task_tally

    out = io.StringIO()
    sink = HeadlessConsole(Console(file=out, width=200, color_system=None))
    sink.emit(
        ev.TaskTakenOver(task="T1", workdir="/w/T1", command=("claude", "--resume", SID), at=1.0)
    )
    text = out.getvalue()
    assert f"✎ taken over T1: cd /w/T1 && claude --resume {SID}" in text
    assert "orchestrator-tui take T1 opens it · done T1 merges it" in text
    assert task_tally(sink.state) == "0/1 done · 1 taken over"
