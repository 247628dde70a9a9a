"""Prove it: every way an agent can go wrong ends with a recorded reason, its process group
gone, its dependents blocked and independent work done — and the engine keeps going."""

from __future__ import annotations

import os
import time
from pathlib import Path

from engine_support import Background, Recorder, engine_for

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.models import TaskStatus

FAKE_CLAUDE = Path(__file__).parent / "fakes" / "bin" / "claude"
# scenario → (final status, a fragment of the recorded reason)
FAULTS = {
    "crash": (TaskStatus.FAILED, "exit 2"),
    "hang": (TaskStatus.FAILED, "timeout"),
    "no_result": (TaskStatus.FAILED, "no result"),
    "api_error": (TaskStatus.FAILED, "API error"),
    "orphan": (TaskStatus.DONE, "ok"),
    "flood": (TaskStatus.DONE, "ok"),
    "malformed_json": (TaskStatus.DONE, "ok"),
    "non_utf8": (TaskStatus.DONE, "ok"),
}


def fault_plan() -> str:
    sections = ["# Plan: Faults\n"]
    for name in FAULTS:
        key = name.replace("_", "-")
        timeout = "timeout: 3s\n" if name == "hang" else ""
        sections.append(f"## {key}: {name}\ndepends: none\n{timeout}\nSCENARIO: {name}\n")
        sections.append(f"## after-{key}: after {name}\ndepends: {key}\n\nSCENARIO: ok\n")
    sections.append(
        "## signal: killed by a signal\ndepends: none\nagent: sh\n"
        "run: python3 -c 'import os, signal; os.kill(os.getpid(), signal.SIGSEGV)'\n"
    )
    sections.append("## after-signal: after the signal\ndepends: signal\n\nSCENARIO: ok\n")
    sections.append("## free: independent\ndepends: none\n\nSCENARIO: ok\n")
    return "\n".join(sections)


def processes_with_cwd_in(root: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = Path(os.readlink(entry / "cwd"))
            except OSError:
                continue
            if cwd == root or root in cwd.parents:
                found.append(int(entry.name))
    return found


def test_agent_faults_are_contained(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "PLAN.md").write_text(fault_plan())
    pidfile = tmp_path / "orphan.pid"
    config = config_from_dict({
        "agents": {
            "default": "claude",
            "claude": {"backend": "claude", "executable": str(FAKE_CLAUDE)},
            "sh": {"backend": "shell"},
        },
        "run": {"isolation": "none", "retries": 0, "concurrency": 6},
    })  # fmt: skip
    env = {"FAKE_AGENT_PIDFILE": str(pidfile), "FAKE_AGENT_FLOOD_MB": "5"}
    recorder = Recorder()
    engine = engine_for(workspace, config, recorder, extra_env=env)
    with Background(engine):
        gate = recorder.wait_for(lambda e: isinstance(e, ev.GateOpened), timeout=120)
        assert gate.stage == "implement" and gate.failed  # the engine is alive, at its gate
        tasks = engine.state.tasks
        for name, (status, reason) in FAULTS.items():
            key = name.replace("_", "-")
            assert tasks[key].status == status, (key, tasks[key].reason)
            assert reason.lower() in tasks[key].reason.lower(), (key, tasks[key].reason)
            after = tasks[f"after-{key}"]
            expected = TaskStatus.BLOCKED if status == TaskStatus.FAILED else TaskStatus.DONE
            assert after.status == expected, (key, after.reason)
            if expected == TaskStatus.BLOCKED:
                assert after.reason == f"{key} failed"
        assert tasks["signal"].status == TaskStatus.FAILED
        assert "killed by signal 11" in tasks["signal"].reason
        assert tasks["after-signal"].status == TaskStatus.BLOCKED
        assert tasks["free"].status == TaskStatus.DONE
        assert tasks["flood"].tokens > 0  # the result after 5 MB of output was still read
        engine.submit("cancel")
    orphan = int(pidfile.read_text().split()[0])
    deadline = time.monotonic() + 5
    while Path(f"/proc/{orphan}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{orphan}").exists(), "the orphaned grandchild survived"
    assert processes_with_cwd_in(workspace) == []
    log = engine.files.log("flood").stat().st_size
    assert log > 5 * 1024 * 1024  # every line of the flood reached the log
