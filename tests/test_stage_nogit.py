"""Issue 13, observation 8: without git, the agents' changes must be visible to the stages."""

from __future__ import annotations

from pathlib import Path

from engine_support import Background, Recorder, engine_for

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.models import StageName
from orchestrator_tui.infra.manifest import ManifestWorkspace, compare, take_manifest

WRITER = (
    "from pathlib import Path\n"
    "Path('app').mkdir(exist_ok=True)\n"
    "Path('app/jobs.py').write_text("
    "'import subprocess\\n\\n\\ndef run(c):\\n    return subprocess.call(c, shell=True)\\n')\n"
    "Path('notes.txt').unlink()\n"
)
PLAN = (
    "# Plan: No git\n\n## T1: Add jobs\ndepends: none\nfiles: app/jobs.py\nrun: python3 write.py\n"
)


def test_without_git_security_cleanup_and_review_see_the_agents_changes(tmp_path: Path) -> None:
    """Security said "nothing to scan", cleanup skipped, review "changed no files", and the
    run was marked ready."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "PLAN.md").write_text(PLAN)
    (workspace / "write.py").write_text(WRITER)
    (workspace / "notes.txt").write_text("old notes\n")
    config = config_from_dict(
        {"agents": {"default": "sh", "sh": {"backend": "shell"}}, "run": {"isolation": "auto"}}
    )
    recorder = Recorder()
    engine = engine_for(workspace, config, recorder)
    with Background(engine) as run:
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened), timeout=90)
        assert gate.stage == StageName.SECURITY, gate
        assert "B602" in gate.summary or "high" in gate.summary, gate.summary
        engine.submit("skip")
        seen = 1
        while run.thread.is_alive() and seen < 6:  # skip whatever else waits (complete)
            gates = recorder.of(ev.GateOpened)
            if len(gates) > seen:
                seen = len(gates)
                engine.submit("skip")
            run.thread.join(0.2)
        run.result(timeout=30)
    state = engine.state
    assert set(state.tasks["T1"].changed_files) == {"app/jobs.py", "notes.txt"}
    security = state.stages[StageName.SECURITY].evidence
    assert security["files"] == 1 and security["counts"]["high"] >= 1
    review = state.stages[StageName.REVIEW].evidence
    assert review["unchanged"] == []
    cleanup = state.stages[StageName.CLEANUP]
    assert "nothing to clean" not in cleanup.summary, cleanup.summary


def test_a_manifest_finds_added_changed_and_removed_files(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("same")
    (tmp_path / "edit.txt").write_text("before")
    (tmp_path / "gone.txt").write_text("x")
    (tmp_path / ".venv").mkdir()
    before = take_manifest(tmp_path)
    (tmp_path / "edit.txt").write_text("after!")
    (tmp_path / "gone.txt").unlink()
    (tmp_path / "new.txt").write_text("n")
    (tmp_path / ".venv" / "ignored.py").write_text("")
    assert compare(before, take_manifest(tmp_path, before)) == ("edit.txt", "gone.txt", "new.txt")
    isolation = ManifestWorkspace(tmp_path, "r1")
    from orchestrator_tui.core.models import Task

    task = Task(id="T1", title="t")
    assert isolation.prepare(task, 1) == tmp_path
    (tmp_path / "keep.txt").write_text("changed")
    assert isolation.finish(task).files == ("keep.txt",)


def test_a_manifest_from_an_earlier_process_is_read_from_the_run(tmp_path: Path) -> None:
    """A take-over's `done` after a restart: the manifest taken when the task started is
    the one on disk, not this process's memory."""
    from orchestrator_tui.core.models import Task

    (tmp_path / "a.txt").write_text("one")
    task = Task(id="T1", title="t")
    ManifestWorkspace(tmp_path, "r1").prepare(task, 1)
    (tmp_path / "a.txt").write_text("two")
    (tmp_path / "b.txt").write_text("new")
    assert ManifestWorkspace(tmp_path, "r1").finish(task).files == ("a.txt", "b.txt")
    assert "no manifest" in ManifestWorkspace(tmp_path, "r2").finish(task).message
