"""The workspace lock (one orchestrator per workspace, stale takeover) and the inbox."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator_tui.infra.session import (
    Inbox,
    LockHeld,
    LockInfo,
    WorkspaceLock,
    guard,
    lock_path,
    read_lock,
    submit,
)


def write_lock(workspace: Path, pid: int, heartbeat_age: float, host: str = "") -> None:
    info = LockInfo(
        pid=pid,
        host=host or socket.gethostname(),
        run_id="old-run",
        started_at=time.time() - 100,
        heartbeat_at=time.time() - heartbeat_age,
    )
    lock_path(workspace).parent.mkdir(parents=True, exist_ok=True)
    lock_path(workspace).write_text(info.model_dump_json())


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_live_lock_is_refused_with_its_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_lock(tmp_path, holder.pid, heartbeat_age=1)
        with pytest.raises(LockHeld) as refused:
            WorkspaceLock(tmp_path, "new-run").acquire()
        message = str(refused.value)
        assert f"pid {holder.pid}" in message and "orchestrator-tui monitor" in message
        assert read_lock(tmp_path).run_id == "old-run"  # untouched
    finally:
        holder.kill()
        holder.wait()


def test_a_dead_holder_is_taken_over_with_a_notice(tmp_path: Path) -> None:
    pid = dead_pid()
    write_lock(tmp_path, pid, heartbeat_age=0)
    lock = WorkspaceLock(tmp_path, "new-run", interval=0.1)
    notice = lock.acquire()
    try:
        assert notice is not None and f"pid {pid}" in notice and "is gone" in notice
        assert read_lock(tmp_path).pid == os.getpid()
    finally:
        lock.release()
    assert not lock_path(tmp_path).exists()


def test_a_stale_heartbeat_is_taken_over(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_lock(tmp_path, holder.pid, heartbeat_age=10)  # > 3 intervals of 2 s
        lock = WorkspaceLock(tmp_path, "new-run")
        notice = lock.acquire()
        assert notice is not None and "heartbeat is 10 s old" in notice
        lock.release()
    finally:
        holder.kill()
        holder.wait()


def test_the_heartbeat_keeps_the_lock_fresh_and_notices_a_takeover(tmp_path: Path) -> None:
    lock = WorkspaceLock(tmp_path, "run", interval=0.05)
    lock.acquire()
    first = read_lock(tmp_path).heartbeat_at
    time.sleep(0.3)
    assert read_lock(tmp_path).heartbeat_at > first
    with guard(tmp_path):  # as a taker does: a beat between our read and write would undo it
        write_lock(tmp_path, 1, heartbeat_age=0, host="elsewhere")
    deadline = time.monotonic() + 3
    while not lock.lost.is_set() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert lock.lost.is_set()
    lock.release()
    assert read_lock(tmp_path).host == "elsewhere"  # we never remove a lock that is not ours


RACER = """
import sys, time
from pathlib import Path
from orchestrator_tui.infra.session import WorkspaceLock, LockHeld
lock = WorkspaceLock(Path(sys.argv[1]), sys.argv[2])
try:
    lock.acquire()
except LockHeld as exc:
    print("refused:", exc)
    sys.exit(3)
print("won")
sys.stdout.flush()
release = Path(sys.argv[1]) / "release"
deadline = time.monotonic() + 60
while not release.exists() and time.monotonic() < deadline:
    time.sleep(0.02)  # hold the lock until every other racer has tried
lock.release()
"""


def test_ten_processes_race_and_exactly_one_wins(tmp_path: Path) -> None:
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(tmp_path), f"run-{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(10)
    ]
    try:
        deadline = time.monotonic() + 60
        while sum(r.poll() is not None for r in racers) < 9 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        (tmp_path / "release").touch()
    outputs = [racer.communicate(timeout=60)[0] for racer in racers]
    codes = [racer.returncode for racer in racers]
    assert codes.count(0) == 1, outputs
    assert codes.count(3) == 9
    assert all(
        "orchestrator-tui monitor" in out
        for out, code in zip(outputs, codes, strict=True)
        if code == 3
    )


def test_inbox_commands_arrive_in_order_and_bad_files_are_set_aside(tmp_path: Path) -> None:
    first = submit(tmp_path, "pause")
    second = submit(tmp_path, "reject", feedback="line one\nline two; $(rm -rf /)")
    inbox = Inbox(tmp_path)
    (inbox.dir / "9999-garbage.json").write_bytes(b"\xff\xfe not json")
    (inbox.dir / ".partial.json.tmp").write_text("{")  # a writer mid-way: not ours to read
    items = inbox.pending()
    assert [getattr(item, "id", None) for _, item in items[:2]] == [first.id, second.id]
    assert items[1][1].feedback == "line one\nline two; $(rm -rf /)"
    bad_path, bad = items[2]
    assert bad.name == "9999-garbage.json"
    inbox.done(bad_path, bad=True)
    for path, _ in items[:2]:
        inbox.done(path)
    assert inbox.pending() == []
    assert (inbox.dir / "rejected" / "9999-garbage.json").exists()


def test_submit_validates_the_action(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        submit(tmp_path, "explode")
    assert list((tmp_path / ".orchestrator/inbox").glob("*.json")) == []


def test_a_command_for_a_run_that_is_starting_is_queued_not_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The engine holds the lock a moment before its log exists (a new run opening): an
    `approve` then is queued for it, not answered "no run in …"."""
    from orchestrator_tui.cli import main
    from orchestrator_tui.commands import control
    from orchestrator_tui.infra.session import inbox_dir

    (tmp_path / ".orchestrator").mkdir()
    lock = WorkspaceLock(tmp_path, "20261203-120000-abcd")
    lock.acquire()
    try:
        monkeypatch.setattr(control, "ANSWER_WAIT_SECONDS", 0.2)
        assert main(["approve", "-C", str(tmp_path)]) == 0
        assert "the engine has not answered yet" in capsys.readouterr().out
        assert len(list(inbox_dir(tmp_path).iterdir())) == 1
    finally:
        lock.release()
    assert main(["approve", "-C", str(tmp_path)]) == 1  # no run, no engine: said so
    assert "no run in" in capsys.readouterr().err


def test_a_zombie_holder_is_dead_and_its_lock_is_taken_over(tmp_path: Path) -> None:
    """A killed orchestrator nobody has reaped yet (its parent is busy, or a container's
    init never reaps) is a zombie: os.kill(pid, 0) still succeeds, but it holds nothing."""
    from orchestrator_tui.infra.session import pid_alive

    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{zombie.pid}/stat").read_text().split(") ")[1][0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.02)  # exited, not reaped: a zombie
    try:
        assert not pid_alive(zombie.pid) and pid_alive(os.getpid())
        write_lock(tmp_path, zombie.pid, heartbeat_age=0)
        notice = WorkspaceLock(tmp_path, "new-run").acquire()
        assert notice is not None and f"its process {zombie.pid} is gone" in notice
    finally:
        zombie.wait(timeout=10)
