"""The parts that keep the engine's cost per task small (issue 11's overhead goal): the
incremental scheduler, the group commit of the event log, the snapshot's cadence, shared
manifests, plain headless lines, the lifeline without a wait per line. Each is held to
what the simple way did (the brute force, rich's own rendering, a walk per task)."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.markup import escape, render

from orchestrator_tui.agents import lifeline
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import Task, TaskStatus
from orchestrator_tui.core.scheduler import RESOLVED, WAITING, Scheduler
from orchestrator_tui.core.state import RunState, apply
from orchestrator_tui.headless import HeadlessConsole, plain
from orchestrator_tui.infra import procgroup
from orchestrator_tui.infra import store as store_module
from orchestrator_tui.infra.manifest import ManifestWorkspace
from orchestrator_tui.infra.store import EventLog, RunFiles, RunStore

STATUSES = list(TaskStatus)


def brute_ready(tasks: list[Task], status: dict[str, TaskStatus]) -> set[str]:
    """What the scheduler did before it was incremental: look at every task."""
    resolved = {t for t, s in status.items() if s in RESOLVED}
    return {
        t.id
        for t in tasks
        if status.get(t.id, TaskStatus.PENDING) in WAITING and resolved.issuperset(t.depends)
    }


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), steps=st.integers(1, 60))
def test_the_incremental_ready_set_is_the_brute_force_one(seed: int, steps: int) -> None:
    rng = random.Random(seed)
    count = rng.randint(1, 25)
    tasks = [
        Task(
            id=f"t{i}",
            title="x",
            depends=tuple(f"t{d}" for d in rng.sample(range(i), min(i, rng.randint(0, 3)))),
        )
        for i in range(count)
    ]
    scheduler = Scheduler(tasks)
    status: dict[str, TaskStatus] = {}
    for _ in range(steps):
        changed = {f"t{rng.randrange(count)}": rng.choice(STATUSES) for _ in range(3)}
        status.update(changed)
        scheduler.update(changed)  # only what changed, as the engine tells it
        assert set(scheduler.ready()) == brute_ready(tasks, status)
        picked = scheduler.pick([], 2)
        ready = sorted(brute_ready(tasks, status), key=scheduler.urgency)
        assert picked == ready[:2]  # the most urgent first, a pick changes nothing
        assert scheduler.pick([], 2) == picked


def test_pick_skips_busy_waiting_and_overlapping_tasks_and_keeps_them() -> None:
    tasks = [
        Task(id="A", title="a", files=("x.py",)),
        Task(id="B", title="b", files=("x.py",)),
        Task(id="C", title="c"),
        Task(id="D", title="d"),
    ]
    scheduler = Scheduler(tasks)
    assert scheduler.pick(["A"], 4, waiting={"C"}) == ["D"]  # B overlaps A, C waits
    scheduler.update({"A": TaskStatus.DONE, "D": TaskStatus.RUNNING})
    assert scheduler.pick([], 4) == ["B", "C"]


def test_a_dependency_that_fails_again_after_a_retry_holds_its_dependents_again() -> None:
    scheduler = Scheduler([Task(id="A", title="a"), Task(id="B", title="b", depends=("A",))])
    scheduler.update({"A": TaskStatus.DONE})
    assert scheduler.ready() == ["B"]
    scheduler.update({"A": TaskStatus.PENDING})  # retried: B must wait for it again
    assert scheduler.ready() == ["A"]


def events_log(tmp_path: Path) -> EventLog:
    return EventLog(RunFiles(tmp_path, "r1"))


def test_group_commit_fsyncs_at_most_once_per_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = events_log(tmp_path)
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd)))
    for seq in range(1, 101):  # a hundred loop turns in a burst, an event each
        with log.batch():
            log.append(ev.Notice(seq=seq, text="x"))
    assert 1 <= len(calls) <= 3, calls
    assert log.unsynced and 0.0 < log.sync_in() <= EventLog.SYNC_SECONDS
    time.sleep(EventLog.SYNC_SECONDS)
    assert log.sync_in() == 0.0
    with log.batch():
        pass  # the next turn's end fsyncs the tail
    assert not log.unsynced and log.sync_in() == float("inf")
    log.append(ev.Notice(seq=101, text="alone"))  # outside a batch: fsynced at once
    assert not log.unsynced
    log.close()
    assert len(RunFiles(tmp_path, "r1").events.read_bytes().splitlines()) == 101


def test_the_engine_loop_never_waits_past_the_unsynced_tail(tmp_path: Path) -> None:
    from engine_support import Recorder, engine_for, make_workspace, sim_config

    engine = engine_for(make_workspace(tmp_path), sim_config(), Recorder())
    engine.open()
    assert engine.store is not None
    time.sleep(EventLog.SYNC_SECONDS)
    with engine.batch():
        engine.notice("info", "one")  # fsynced: the window was over
    with engine.batch():
        engine.notice("info", "two")  # within the window: left for later
    assert engine.store.log.unsynced
    started = time.monotonic()
    engine.pump(5.0)  # nothing arrives: it waits only until the tail is due
    assert time.monotonic() - started < 1.0
    assert not engine.store.log.unsynced
    engine.close()


def test_a_slow_snapshot_is_taken_less_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(RunFiles(tmp_path, "r1"))
    clock = iter([100.0, 100.4])  # the snapshot's start and end: it took 0.4 s
    monkeypatch.setattr(time, "monotonic", lambda: next(clock, 100.4))
    store.write_snapshot()
    assert store.snapshot_due == pytest.approx(100.0 + RunStore.SNAPSHOT_SHARE * 0.4)
    store.log.close()


def test_snapshot_moments_close_together_share_one_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage's end and its gate a moment later: one snapshot, written once the pace
    allows (the loop is told when), holding both."""
    store = RunStore(RunFiles(tmp_path, "r1"))
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    writes: list[int] = []
    write = store_module.atomic_write

    def slow_write(path: Path, text: str, durable: bool = True) -> None:
        writes.append(json.loads(text)["last_seq"])
        write(path, text, durable=durable)
        now[0] += 0.01  # each snapshot takes 10 ms: the next may come 0.2 s later

    monkeypatch.setattr(store_module, "atomic_write", slow_write)
    finished = ev.StageFinished(seq=1, stage="analyze", status="done")
    store.emit(finished)
    assert writes == [1]  # the first moment: at once
    store.emit(ev.GateDecided(seq=2, stage="analyze", decision="approve", by="auto"))
    store.emit(ev.StageStarted(seq=3, stage="plan"))
    assert writes == [1]  # too soon after it: wanted, not written yet
    assert store.sync_in() == pytest.approx(0.19)
    now[0] += 0.2
    with store.batch():
        store.emit(ev.StageFinished(seq=4, stage="plan", status="done"))
    assert writes == [1, 4]  # one snapshot for the three events since
    assert store.sync_in() > 0.19  # nothing wanted: only the log's tail (if any)
    store.close()
    assert writes == [1, 4]  # nothing moved since: closing writes no snapshot again
    assert json.loads(store.files.state.read_text())["last_seq"] == 4


def test_closing_writes_the_snapshot_only_when_the_state_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = RunStore(RunFiles(tmp_path, "r1"))
    writes: list[int] = []
    write = store_module.atomic_write

    def counted(path: Path, text: str, durable: bool = True) -> None:
        writes.append(json.loads(text)["last_seq"])
        write(path, text, durable=durable)

    monkeypatch.setattr(store_module, "atomic_write", counted)
    store.emit(ev.StageFinished(seq=1, stage="analyze", status="done"))
    store.emit(ev.StageStarted(seq=2, stage="plan"))  # not a moment: no snapshot yet
    assert writes == [1]
    store.close()
    assert writes == [1, 2]  # the state moved: closing writes it
    again = RunStore(RunFiles(tmp_path, "r1"), store.state)
    again.emit(ev.StageFinished(seq=3, stage="plan", status="done"))
    again.close()
    assert writes == [1, 2, 3]  # written at the stage's end, not again at the close


def test_tasks_starting_together_share_one_manifest_and_one_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("one")
    isolation = ManifestWorkspace(tmp_path, "r1")
    tasks = [Task(id=f"T{i}", title="t") for i in range(5)]
    for task in tasks:
        isolation.prepare(task, 1)
    files = sorted(p.name for p in isolation.folder.iterdir())
    assert len(files) == 2 and "index.jsonl" in files  # one manifest, one index
    assert len(isolation.index.read_text().splitlines()) == 5
    (tmp_path / "a.txt").write_text("two")
    ended = time.monotonic()
    assert isolation.finish(tasks[0], ended).files == ("a.txt",)
    assert isolation.finish(tasks[1], ended).files == ("a.txt",)  # the same look serves
    (tmp_path / "b.txt").write_text("new")  # after the look: not seen by a task that ended
    assert isolation.finish(tasks[2], ended).files == ("a.txt",)
    assert isolation.finish(tasks[3]).files == ("a.txt", "b.txt")  # ended now: a new look
    again = ManifestWorkspace(tmp_path, "r1")  # a later process reads it from the index
    assert again.finish(tasks[4]).files == ("a.txt", "b.txt")


MARKUP = [
    "[dim]12:00:01[/] [bold]run 2026-x started[/] in /tmp/a b",
    "  [red]failed[/] T1 in 0.1s: " + escape("exit 1: [error] missing ] bracket"),
    "[bold yellow]⏸ Security waits[/]: " + escape("C:\\path\\ and [link=x]"),
    "  [cyan]●[/] " + escape("T[1]") + " started on sh",
    "[blue]PLAN.md reloaded[/]: " + escape("added a\\[b], c\\"),
]


@pytest.mark.parametrize("markup", MARKUP)
def test_plain_lines_read_as_rich_reads_the_markup(markup: str) -> None:
    assert plain(markup) == render(markup, emoji=False).plain


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab[]/=:# x@", max_size=30))
def test_plain_text_of_escaped_text_is_the_text(text: str) -> None:
    """Brackets in titles and reasons survive (backslashes: rich's escape itself is not
    exact before a tag, so they are held to rich's reading above, not to the text)."""
    markup = f"[red]{escape(text)}[/]"
    assert plain(markup) == text == render(markup, emoji=False).plain  # `:a:` stays `:a:`


def test_the_summary_goes_into_a_log_as_the_file_is(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    text = "# Session\n\n| a\t| [bold]b[/] |\n" + "x" * 300 + "  \n"
    summary.write_text(text, encoding="utf-8")
    finished = ev.StageFinished(
        seq=1, stage="complete", status="done", evidence={"summary_path": str(summary)}
    )
    out = io.StringIO()
    headless = HeadlessConsole(Console(file=out, width=40, force_terminal=False))
    headless.state = apply(RunState(), finished)
    headless.close()
    rule = "─" * 15 + " summary " + "─" * 16
    assert out.getvalue() == f"{rule}\n{text}"  # trailing spaces, tabs, brackets kept


def test_tokens_never_repeat() -> None:
    tokens = {procgroup.new_token() for _ in range(10_000)}
    assert len(tokens) == 10_000 and all(len(t) >= 20 for t in tokens)


def test_a_lifeline_that_died_is_started_again_on_the_next_line() -> None:
    lifeline = procgroup.Lifeline()
    try:
        assert lifeline.guard(999_999, "no-such-token")
        first = lifeline.process
        assert first is not None
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert lifeline.guard(999_998, "no-such-token")  # the broken pipe: a new lifeline
        assert lifeline.process is not None and lifeline.process is not first
        assert lifeline.process.poll() is None
    finally:
        if lifeline.process is not None and lifeline.process.stdin is not None:
            lifeline.process.stdin.close()
            lifeline.process.wait(timeout=10)


def context_switches(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return sum(int(line.split()[1]) for line in status.splitlines() if "ctxt_switches:" in line)


def test_a_guard_line_does_not_wake_the_lifeline() -> None:
    """The lifeline reads its guards every POLL_MS, not on each line: 200 agents started a
    millisecond apart wake it a few times, not 200 (each wake-up cost the agent's start)."""
    lifeline = procgroup.Lifeline()
    try:
        assert lifeline.guard(999_999, "no-such-token")
        assert lifeline.process is not None
        time.sleep(0.3)  # it has started and waits
        before = context_switches(lifeline.process.pid)
        for pgid in range(200):
            assert lifeline.guard(900_000 + pgid, "no-such-token")
            time.sleep(0.001)
        woke = context_switches(lifeline.process.pid) - before
        assert woke < 30, woke
    finally:
        if lifeline.process is not None and lifeline.process.stdin is not None:
            lifeline.process.stdin.close()
            lifeline.process.wait(timeout=10)


def test_the_lifeline_reads_lines_that_came_in_pieces() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    groups: dict[int, str] = {}
    try:
        os.write(write_end, b"12 tok")
        rest = lifeline.read_groups(read_end, b"", groups)
        assert rest == b"12 tok" and groups == {}  # half a line waits for its end
        os.write(write_end, b"en\n34 other\n- 1")
        rest = lifeline.read_groups(read_end, rest, groups)
        assert groups == {12: "token", 34: "other"} and rest == b"- 1"
        os.write(write_end, b"2\nnot a line\n")
        os.close(write_end)
        write_end = -1
        assert lifeline.read_groups(read_end, rest, groups) is None  # the end
        assert groups == {34: "other"}
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def test_the_engine_says_which_tasks_changed_since_it_was_last_asked(tmp_path: Path) -> None:
    from engine_support import Recorder, engine_for, make_workspace, sim_config

    engine = engine_for(make_workspace(tmp_path), sim_config(), Recorder())
    engine.open()
    tasks = (Task(id="T1", title="a"), Task(id="T2", title="b"))
    assert engine.changed_tasks() is None  # the first ask: maybe any
    engine.emit(ev.PlanFrozen(tasks=tasks, waves=(("T1", "T2"),)))
    assert engine.changed_tasks() is None  # a plan: every task at once
    engine.emit(ev.TaskStarted(task="T1", attempt=1, agent="sim"))
    engine.notice("info", "no task in it")
    assert engine.changed_tasks() == {"T1"}
    engine.emit(ev.TaskFinished(task="T1", status="done", attempt=1))
    engine.emit(ev.TaskBlocked(task="T2", cause="T1"))
    assert engine.changed_tasks() == {"T1", "T2"}
    assert engine.changed_tasks() == set()
    engine.close()


@settings(max_examples=80, deadline=None)
@given(
    status=st.sampled_from(STATUSES),
    attempt=st.integers(0, 5),
    reason=st.text(max_size=20),
    files=st.lists(st.text(max_size=5), max_size=3).map(tuple),
    which=st.sets(st.sampled_from(["status", "attempt", "reason", "changed_files"])),
)
def test_evolve_is_model_copy_with_its_update(
    status: TaskStatus, attempt: int, reason: str, files: tuple[str, ...], which: set[str]
) -> None:
    """The fold's fast copy gives what pydantic's model_copy(update=…) gives: equal, the
    same JSON, the same fields set, the same hash; the original is left as it was."""
    from orchestrator_tui.core.run_state import TaskState

    base = TaskState(id="t1", title="a title", depends=("t0",))
    values = {"status": status, "attempt": attempt, "reason": reason, "changed_files": files}
    changes = {name: values[name] for name in which}
    fast, slow = base.evolve(changes), base.model_copy(update=changes)
    assert fast == slow and hash(fast) == hash(slow)
    assert fast.model_dump_json() == slow.model_dump_json()
    assert fast.model_fields_set == slow.model_fields_set
    assert base == TaskState(id="t1", title="a title", depends=("t0",))
    event = ev.TaskFinished(task="t1", status="done", reason=reason, attempt=attempt)
    stamped = event.evolve({"seq": 7, "at": 1.5})
    assert stamped == event.model_copy(update={"seq": 7, "at": 1.5}) and event.seq == 0


def test_the_agents_environment_follows_every_change_of_os_environ(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The copy of os.environ kept between agent starts is never stale, never shared."""
    from orchestrator_tui.agents.spec import environment

    assert environment() == dict(os.environ)
    monkeypatch.setenv("ORCH_TEST_VARIABLE", "one")
    assert environment()["ORCH_TEST_VARIABLE"] == "one"
    monkeypatch.setenv("ORCH_TEST_VARIABLE", "two")
    first = environment()
    assert first["ORCH_TEST_VARIABLE"] == "two"
    first["ORCH_TEST_VARIABLE"] = "changed by a caller"
    assert environment()["ORCH_TEST_VARIABLE"] == "two"
    monkeypatch.delenv("ORCH_TEST_VARIABLE")
    assert "ORCH_TEST_VARIABLE" not in environment()
