"""The monitor app: approve and reject through the inbox, the engine's answers, the bell,
following a run that starts (and a newer one) while it runs, and bad input."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from monitor_support import (
    NOW,
    RUN_ID,
    T0,
    implementing,
    recorded_implementing,
    recorded_review_gate,
    waiting_at_review,
    write_events,
    write_lock,
)
from textual.pilot import Pilot

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName
from orchestrator_tui.infra.session import Command, inbox_dir
from orchestrator_tui.infra.store import RunFiles
from orchestrator_tui.monitor.app import MonitorApp
from orchestrator_tui.monitor.widgets.feedback_dialog import FeedbackDialog
from orchestrator_tui.monitor.widgets.gate_box import GateBox
from orchestrator_tui.monitor.widgets.message_lines import MessageLines
from orchestrator_tui.monitor.widgets.run_header import RunHeader
from orchestrator_tui.monitor.widgets.stage_strip import StageStrip

SIZE = (40, 30)


def run_async(test: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Each async test in its own event loop (there is no async pytest plugin here)."""

    @functools.wraps(test)
    def wrapper(*args: object, **kwargs: object) -> None:
        asyncio.run(test(*args, **kwargs))  # type: ignore[arg-type]

    return wrapper


def monitor(workspace: Path) -> MonitorApp:
    return MonitorApp(workspace, clock=lambda: NOW, tick=0.2)


def shown(app: MonitorApp, widget: type) -> str:
    return app.query_one(widget).content.plain


async def until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the monitor did not get there in time")
        await pilot.pause(0.05)


def inbox(workspace: Path) -> list[Command]:
    folder = inbox_dir(workspace)
    if not folder.is_dir():
        return []
    return [Command.model_validate_json(p.read_bytes()) for p in sorted(folder.glob("*.json"))]


def gate_waiting_engine_alive(workspace: Path) -> RunFiles:
    files = RunFiles(workspace, RUN_ID)
    write_events(files, waiting_at_review())
    write_lock(workspace, heartbeat_at=NOW - 1)
    return files


def answer(files: RunFiles, command: Command, ok: bool, message: str, *more: ev.EventBase) -> None:
    seq = 1000 + len(files.events.read_text().splitlines())
    applied = ev.CommandApplied(
        command_id=command.id, action=command.action, ok=ok, message=message, seq=seq, at=NOW
    )
    write_events(files, [applied, *more])


@run_async
async def test_approve_reaches_the_inbox_and_the_engine_answer_is_shown(tmp_path: Path) -> None:
    files = gate_waiting_engine_alive(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert "Review waits for you" in shown(app, GateBox)
        await pilot.press("a")
        [command] = inbox(tmp_path)
        assert (command.action, command.by, command.feedback) == ("approve", "monitor", "")
        assert "sent approve review — waiting for the engine…" in shown(app, MessageLines)
        decided = ev.GateDecided(stage=StageName.REVIEW, decision="approve", by="monitor", at=NOW)
        answer(files, command, True, "review: approve", decided)
        await until(pilot, lambda: app.snapshot.state.gate is None)
        messages = shown(app, MessageLines)
        assert "engine: ✓ review: approve" in messages
        assert "sent approve" not in messages  # the answer took the place of "sent"
        assert not app.query_one(GateBox).display


@run_async
async def test_a_refusal_from_the_engine_is_shown_as_such(tmp_path: Path) -> None:
    files = gate_waiting_engine_alive(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        [command] = inbox(tmp_path)
        answer(files, command, False, "nothing waits for approval; approve ignored")
        await until(pilot, lambda: "refused" in shown(app, MessageLines))
        assert (
            "engine refused approve review: nothing waits for approval; approve ignored"
            in shown(app, MessageLines)
        )


@run_async
async def test_reject_asks_for_feedback_and_sends_it(tmp_path: Path) -> None:
    gate_waiting_engine_alive(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        assert isinstance(app.screen, FeedbackDialog)
        await pilot.press("enter")  # empty feedback is not sent
        assert isinstance(app.screen, FeedbackDialog)
        assert inbox(tmp_path) == []
        assert "say what should change" in str(app.screen.query_one("#feedback-hint").content)
        await pilot.press(*"use argon2")
        await pilot.press("enter")
        assert not isinstance(app.screen, FeedbackDialog)
        [command] = inbox(tmp_path)
        assert (command.action, command.by) == ("reject", "monitor")
        assert command.feedback == "use argon2"


@run_async
async def test_escape_cancels_a_rejection(tmp_path: Path) -> None:
    gate_waiting_engine_alive(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r", *"no", "escape")
        assert not isinstance(app.screen, FeedbackDialog)
        assert inbox(tmp_path) == []


@run_async
async def test_approve_without_a_gate_sends_nothing(tmp_path: Path) -> None:
    recorded_implementing(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "r")
        assert inbox(tmp_path) == []
        assert not isinstance(app.screen, FeedbackDialog)
        messages = shown(app, MessageLines)
        assert "nothing waits for approval" in messages
        assert "nothing waits to be rejected" in messages


@run_async
async def test_approving_while_the_engine_is_dead_says_when_it_applies(tmp_path: Path) -> None:
    recorded_review_gate(tmp_path)  # heartbeat 42 s old
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert len(inbox(tmp_path)) == 1
        assert "the engine is not running — it applies on resume" in shown(app, MessageLines)


@run_async
async def test_the_bell_rings_for_a_waiting_gate_and_a_failed_task_only(tmp_path: Path) -> None:
    """History (a failure before the monitor started) does not ring; news does."""
    files = recorded_implementing(tmp_path)
    app = monitor(tmp_path)
    rings: list[float] = []
    app.bell = lambda: rings.append(time.monotonic())  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert rings == []
        retrying = ev.TaskFinished(task="T2", status="failed", will_retry=True, seq=90, at=NOW)
        write_events(files, [retrying])
        await until(pilot, lambda: app.snapshot.state.last_seq == 90)
        assert rings == []  # a failure that will be retried needs nobody yet
        failed = ev.TaskFinished(task="T3", status="failed", reason="exit 1", seq=91, at=NOW)
        write_events(files, [failed])
        await until(pilot, lambda: len(rings) == 1)
        finished = ev.StageFinished(stage=StageName.IMPLEMENT, status="failed", seq=92, at=NOW)
        gate = ev.GateOpened(stage=StageName.IMPLEMENT, failed=True, seq=93, at=NOW)
        write_events(files, [finished, gate])
        await until(pilot, lambda: len(rings) == 2)
        assert "! Implement failed" in shown(app, GateBox)


@run_async
async def test_follows_a_run_that_starts_later_and_then_a_newer_one(tmp_path: Path) -> None:
    """Started in a bare directory; another thread creates the run and appends to it."""
    app = monitor(tmp_path)
    newer = "20231115-090000-cd34"

    def engine() -> None:
        files = RunFiles(tmp_path, RUN_ID)
        for event in implementing():
            write_events(files, [event])
            time.sleep(0.01)

    async with app.run_test(size=SIZE) as pilot:
        assert "no .orchestrator here yet" in shown(app, RunHeader)
        writer = threading.Thread(target=engine)
        writer.start()
        await until(pilot, lambda: app.snapshot.state.last_seq == len(implementing()))
        writer.join()
        assert f"run {RUN_ID}" in shown(app, RunHeader)
        assert app.snapshot.state.tasks["T4"].reason == "tests failed: 3 of 12 in test_hash.py"
        assert "4/9 implement" in app.query_one(StageStrip).render().plain
        started = ev.RunStarted(run_id=newer, workspace=str(tmp_path), seq=1, at=T0 + 300)
        write_events(RunFiles(tmp_path, newer), [started])
        await until(pilot, lambda: app.snapshot.run_id == newer)
        assert f"following the new run {newer}" in shown(app, MessageLines)
        assert app.snapshot.state.tasks == {}


@run_async
async def test_bad_input_is_described_and_the_monitor_keeps_running(tmp_path: Path) -> None:
    """A garbage line, an unknown event kind, a half-written last line and a stale lock."""
    files = recorded_review_gate(tmp_path)
    with files.events.open("a", encoding="utf-8") as handle:
        handle.write('{"seq": 77, "kind": "notice", "te')
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert app.is_running
        header, messages = shown(app, RunHeader), shown(app, MessageLines)
        assert "engine not running — heartbeat 42 s old" in header
        assert "skipped a bad line (not JSON" in messages
        assert "skipped 1 event of a kind this version does not know" in messages
        assert "the event log ends in a half-written line" in messages
        assert "Review waits for you" in shown(app, GateBox)  # the last picture stays
        with files.events.open("a", encoding="utf-8") as handle:
            handle.write('xt": "resumed"}\n')
        await until(pilot, lambda: app.snapshot.state.notices[-1:] == ("info: resumed",))
        assert "half-written" not in shown(app, MessageLines)


@run_async
async def test_the_engine_dying_keeps_the_last_picture(tmp_path: Path) -> None:
    recorded_implementing(tmp_path)
    app = monitor(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert "engine pid 4242 · heartbeat 1 s" in shown(app, RunHeader)
        (tmp_path / ".orchestrator" / "lock").unlink()
        await until(pilot, lambda: "engine not running" in shown(app, RunHeader))
        assert "no lock, last event 50 s old" in shown(app, RunHeader)
        assert len(app.snapshot.state.tasks) == 7
        assert "4/9 implement" in app.query_one(StageStrip).render().plain


def test_monitor_command_rejects_a_missing_directory() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orchestrator_tui", "monitor", "/no/such/workspace"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "/no/such/workspace: no such directory" in done.stderr
