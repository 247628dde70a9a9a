"""run.executor = "ray": the implement stage on a local two-node Ray cluster, fake claude."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from agent_support import fake, git, make_repo
from engine_support import Background, Recorder
from ray_support import (
    implement_done,
    need_ray,
    nodes_of,
    on_cluster,
    plan_engine,
    processes_of_run,
    run_plan,
    start_cluster,
)
from test_engine_agents import CONFLICT, KILL_PLAN, SIX_TASKS

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import load_config
from orchestrator_tui.core.models import STAGES, TaskStatus
from orchestrator_tui.demo import PROJECT
from orchestrator_tui.engine.pipeline import EngineOptions
from orchestrator_tui.infra.store import RunFiles, latest_run_id, read_events
from orchestrator_tui.runtime import build_engine

pytestmark = [on_cluster, pytest.mark.timeout(240)]

SLOW = "# Plan: slow ones\n\n## S1: Slow\ndepends: none\n\nSCENARIO: slow\n"
TWO_SLOW = SLOW + "\n## S2: Slow too\ndepends: none\n\nSCENARIO: slow\n"


@pytest.fixture(scope="module")
def cluster():
    cluster = start_cluster()
    yield cluster
    import ray

    ray.shutdown()
    cluster.shutdown()


def test_a_diamond_on_two_nodes_ends_as_a_local_run(tmp_path: Path, cluster) -> None:
    local = run_plan(tmp_path / "local", SIX_TASKS, "local")
    remote = run_plan(tmp_path / "ray", SIX_TASKS, "ray", cluster.address)
    assert remote["finished"].status == "done", remote["finished"].details
    assert set(remote["status"].values()) == {TaskStatus.DONE}
    assert remote["status"] == local["status"]
    assert remote["tree"] == local["tree"]
    assert remote["usage"] == local["usage"]
    assert remote["finished"].evidence == local["finished"].evidence
    assert set(remote["nodes"]) == set("ABCDEF")
    assert len(set(remote["nodes"].values())) == 2, remote["nodes"]
    assert local["nodes"] == {}
    # the task's log on the driver is the agent's whole log, as locally
    engine = remote["engine"]
    log = engine.files.log("D").read_text()
    assert '{"type":"result"' in log and "=== on Ray node" in log


def test_the_demo_plan_on_two_nodes_ends_as_a_local_run(tmp_path: Path, cluster) -> None:
    plan = (PROJECT / "PLAN.md").read_text(encoding="utf-8")
    local = run_plan(tmp_path / "local", plan, "local", run={"concurrency": 4})
    remote = run_plan(tmp_path / "ray", plan, "ray", cluster.address, run={"concurrency": 4})
    assert remote["status"] == local["status"]
    assert set(remote["status"].values()) == {TaskStatus.DONE}
    assert remote["usage"] == local["usage"]
    assert remote["tree"] == local["tree"]
    assert len(set(remote["nodes"].values())) == 2, remote["nodes"]


def test_a_merge_conflict_is_caught_as_locally(tmp_path: Path, cluster) -> None:
    remote = run_plan(tmp_path, CONFLICT, "ray", cluster.address)
    finished = remote["finished"]
    assert finished.status == "failed"
    assert "1 conflict" in finished.summary and "1 blocked" in finished.summary
    conflicts = remote["recorder"].of(ev.MergeConflict)
    assert len(conflicts) == 1 and conflicts[0].files == ("same.txt",)
    loser = conflicts[0].task
    assert remote["status"][loser] == TaskStatus.CONFLICT
    assert remote["status"]["Z"] == TaskStatus.BLOCKED
    kept = remote["workspace"] / ".orchestrator" / "worktrees" / loser
    assert (kept / "same.txt").read_text() == f"written by {loser}\n"


def wait_until(test, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = test()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached in {timeout:g} s")


def test_cancel_stops_the_remote_agent_and_its_group(tmp_path: Path, cluster) -> None:
    """The user quits while a remote agent runs: the agent and its group are gone soon
    after (checked by scanning processes), so is the attempt's directory on the worker."""
    recorder = Recorder()
    engine, _ = plan_engine(
        tmp_path, SLOW, recorder, "ray", cluster.address, {"FAKE_AGENT_SLOW_DELAY": "0.5"}
    )
    background = Background(engine)
    with background:
        run_id = engine.state.run_id
        wait_until(lambda: processes_of_run(run_id), what="the remote agent running")
        recorder.wait_for(lambda e: isinstance(e, ev.TaskOutput) and e.task == "S1", 30)
        started = time.monotonic()
        engine.stop()
        background.thread.join(30)
        stopped = time.monotonic() - started
    wait_until(lambda: not processes_of_run(run_id), 10, "no process of the run left")
    assert stopped < 10
    assert engine.state.tasks["S1"].status == TaskStatus.RUNNING  # resume starts it again
    wait_until(
        lambda: not [p for p in Path("/tmp").glob("orch-remote-*") if run_id in _prompt_of(p)],
        10,
        "the attempt's directory removed",
    )


def _prompt_of(directory: Path) -> str:
    try:
        return (directory / "prompt.md").read_text()
    except OSError:
        return ""


def test_a_killed_worker_is_retried_and_its_agent_dies_with_it(tmp_path: Path, cluster) -> None:
    """SIGKILL of the Ray worker: the lifeline kills the agent's group; the attempt is lost,
    not failed, and runs again though the task has no retries."""
    recorder = Recorder()
    engine, _ = plan_engine(
        tmp_path, SLOW, recorder, "ray", cluster.address, {"FAKE_AGENT_SLOW_DELAY": "0.3"}
    )
    with Background(engine):
        run_id = engine.state.run_id
        agents = wait_until(lambda: processes_of_run(run_id), what="the remote agent running")
        log = engine.files.log("S1")
        header = wait_until(lambda: "worker pid" in log.read_text() and log.read_text())
        worker = int(header.split("worker pid ")[1].split(")")[0])
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: not (set(processes_of_run(run_id)) & set(agents)), 15, "agent gone")
        finished = implement_done(recorder, 120)
    assert finished.status == "done", finished.details
    task = engine.state.tasks["S1"]
    assert task.status == TaskStatus.DONE and task.attempt == 2
    lost = [e for e in recorder.of(ev.TaskFinished) if e.will_retry]
    assert len(lost) == 1 and lost[0].reason.startswith("worker lost: ")


def test_a_missing_agent_cli_on_the_node_fails_with_a_clear_message(
    tmp_path: Path, cluster
) -> None:
    remote = run_plan(
        tmp_path,
        "# Plan: p\n\n## T1: One\ndepends: none\n",
        "ray",
        cluster.address,
        agents={"claude": {"backend": "claude", "executable": "/nonexistent/claude"}},
    )
    reason = remote["engine"].state.tasks["T1"].reason
    assert reason.startswith("executable not found: /nonexistent/claude")
    assert "on Ray node" in reason and "install the agent CLI there" in reason


def test_ray_init_is_quiet_and_takes_no_signal(tmp_path: Path, cluster) -> None:
    code = (
        "import signal, threading\n"
        "from orchestrator_tui.core.config import RaySettings\n"
        "from orchestrator_tui.infra.ray_cluster import RayCluster\n"
        "before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]\n"
        f"c = RayCluster(RaySettings(address={cluster.address!r}))\n"
        "t = threading.Thread(target=c.connect); t.start(); t.join()\n"
        "assert c.ray.is_initialized()\n"
        "after = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]\n"
        "assert before == after, (before, after)\n"
        "die = c.ray.remote(max_retries=0)(lambda: __import__('os')._exit(3))\n"
        "try:\n    c.ray.get(die.remote())\nexcept Exception:\n    pass\n"
        "import time; time.sleep(1)\n"  # the cluster's error message about it comes now
        "c.ray.shutdown()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_ray_connects_while_textual_holds_stdout_and_stderr(tmp_path: Path, cluster) -> None:
    """In the app, sys.stdout and sys.stderr are Textual's capture objects, whose fileno()
    is -1: ray.init (faulthandler.enable) failed there with "file.fileno() is not a valid
    file descriptor" and every task with it."""
    code = (
        "import sys, threading\n"
        "class Capture:\n"
        "    def write(self, text): return len(text)\n"
        "    def flush(self): pass\n"
        "    def fileno(self): return -1\n"
        "    def isatty(self): return False\n"
        "sys.stdout = sys.stderr = Capture()\n"
        "from orchestrator_tui.core.config import RaySettings\n"
        "from orchestrator_tui.infra.ray_cluster import RayCluster\n"
        f"c = RayCluster(RaySettings(address={cluster.address!r}))\n"
        "problems = []\n"
        "def go():\n"
        "    try:\n        c.connect()\n    except Exception as exc:\n"
        "        problems.append(str(exc))\n"
        "t = threading.Thread(target=go); t.start(); t.join()\n"
        "sys.__stdout__.write(repr(problems))\n"
        "c.ray is not None and c.ray.shutdown()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90)
    assert done.stdout == "[]", done.stdout + done.stderr


def test_a_driver_killed_mid_run_resumes_and_merges_each_task_once(tmp_path: Path, cluster) -> None:
    """kill -9 of the orchestrator while a remote agent runs: Ray ends the dead driver's
    task, the lifeline kills the agent, and `run` again finishes without merging twice."""
    workspace = make_repo(tmp_path / "ws", {"README.md": "project\n", "PLAN.md": KILL_PLAN})
    (workspace / ".orchestrator").mkdir()
    (workspace / ".orchestrator" / "config.toml").write_text(
        f'[run]\nretries = 0\nconcurrency = 2\nexecutor = "ray"\n'
        f'[ray]\naddress = "{cluster.address}"\nenv = ["FAKE_AGENT_SLOW_DELAY"]\n'
        f'[agents]\ndefault = "claude"\n'
        f'[agents.claude]\nbackend = "claude"\nexecutable = "{fake("claude")}"\n'
    )
    env = {**os.environ, "HOME": str(tmp_path / "home"), "FAKE_AGENT_SLOW_DELAY": "30"}
    argv = [sys.executable, "-m", "orchestrator_tui", "run", "--headless", "--approve", "all"]
    first = subprocess.Popen(
        [*argv, "-C", str(workspace)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:

        def seen() -> set[str]:
            run_id = latest_run_id(workspace)
            if not run_id:
                return set()
            events = read_events(RunFiles(workspace, run_id).events).events
            return {f"{e.kind}:{getattr(e, 'task', '')}" for e in events}

        wait_until(lambda: {"task_merged:A", "task_started:B"} <= seen(), 90, "A merged, B on")
        run_id = latest_run_id(workspace)
        slow = wait_until(lambda: processes_of_run(run_id), 30, "B's agent running")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    wait_until(lambda: not set(processes_of_run(run_id)) & set(slow), 60, "B's agent gone")

    recorder = Recorder()
    options = EngineOptions(
        workspace=workspace,
        config=load_config(workspace),
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.01,
        extra_env={"HOME": str(tmp_path / "home"), "FAKE_AGENT_SLOW_DELAY": "0.05"},
    )
    engine = build_engine(options, [recorder])
    with Background(engine):
        finished = implement_done(recorder)
    assert finished.status == "done", finished.details
    assert engine.state.run_id == run_id
    branch = f"orch/{run_id}"
    merges = git(workspace, "log", "--first-parent", "--format=%s", branch).splitlines()
    assert merges.count("Merge A: Quick") == 1 and merges.count("Merge C: After") == 1
    assert "Merge B: Slow" not in merges  # B's slow agent writes nothing: nothing to merge
    assert engine.state.tasks["B"].status == TaskStatus.DONE
    assert git(workspace, "show", f"{branch}:c.txt") == "c"


def test_a_lost_node_mid_task_is_retried_on_the_other(tmp_path: Path, cluster) -> None:
    """Last: it takes a node away (and puts one back for whoever comes next)."""
    need_ray()
    head_id = cluster.head_node.node_id[:8]
    recorder = Recorder()
    engine, _ = plan_engine(
        tmp_path, TWO_SLOW, recorder, "ray", cluster.address, {"FAKE_AGENT_SLOW_DELAY": "1.0"}
    )
    with Background(engine):
        nodes = wait_until(lambda: len(nodes_of(recorder)) == 2 and nodes_of(recorder))
        assert len(set(nodes.values())) == 2, nodes  # SPREAD: one on each node
        (victim,) = [n for n in cluster.worker_nodes if n.node_id[:8] != head_id]
        on_victim = [t for t, n in nodes.items() if not n.endswith(head_id)]
        assert not recorder.of(ev.TaskFinished), "too late: a task ended already"
        cluster.remove_node(victim)
        finished = implement_done(recorder, 150)
    cluster.add_node(num_cpus=1, resources={"agent": 4})
    assert finished.status == "done", finished.details
    lost = [e for e in recorder.of(ev.TaskFinished) if e.will_retry]
    assert [e.task for e in lost] == on_victim
    assert lost[0].reason.startswith("worker lost: ")
    assert nodes_of(recorder)[on_victim[0]].endswith(head_id)
