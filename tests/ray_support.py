"""Shared helpers for the Ray executor tests: the two-node cluster, engines on fake claude."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from agent_support import fake, git, make_repo
from engine_support import Background, Recorder

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import config_from_dict
from orchestrator_tui.core.models import STAGES, StageName
from orchestrator_tui.engine.pipeline import Engine, EngineOptions
from orchestrator_tui.runtime import build_engine


def need_ray():
    """The ray module; the test skips where it is absent, except in CI, which installs it."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI must install orchestrator-tui[ray] (scripts/test.sh does)")
        pytest.skip("ray is not installed (pip install 'orchestrator-tui[ray]')")
    return ray


# every test that uses the cluster runs in one xdist worker (pytest runs with --dist loadgroup)
on_cluster = pytest.mark.xdist_group("ray-cluster")


def start_cluster():
    need_ray()
    from ray.cluster_utils import Cluster

    # keep an idle Ray worker per agent (the default keeps one per CPU: here, 1 per node),
    # or every attempt would pay for starting a worker process
    os.environ.setdefault("RAY_num_workers_soft_limit", "4")
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": {"agent": 4}, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, resources={"agent": 4})
    cluster.wait_for_nodes()
    return cluster


def plan_engine(
    tmp_path: Path,
    plan: str,
    recorder: Recorder,
    executor: str,
    address: str = "",
    extra_env: dict | None = None,
    **sections: dict,
) -> tuple[Engine, Path]:
    workspace = make_repo(tmp_path / f"ws-{executor}", {"README.md": "project\n", "PLAN.md": plan})
    data: dict = {
        "agents": {
            "default": "claude",
            "claude": {"backend": "claude", "executable": fake("claude")},
        },
        "run": {
            "retries": 0,
            "retry_backoff": 0.05,
            "concurrency": 3,
            "isolation": "auto",
            "executor": executor,
        },
        "ray": {"address": address or "auto", "env": ["FAKE_AGENT_SLOW_DELAY"]},
    }
    for key, value in sections.items():
        data.setdefault(key, {}).update(value)
    options = EngineOptions(
        workspace=workspace,
        config=config_from_dict(data),
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.01,
        heartbeat=0.2,
        extra_env={"HOME": str(tmp_path / "home"), **(extra_env or {})},
    )
    return build_engine(options, [recorder]), workspace


def implement_done(recorder: Recorder, timeout: float = 90.0) -> ev.StageFinished:
    return recorder.wait_for(  # type: ignore[return-value]
        lambda e: isinstance(e, ev.StageFinished) and e.stage == StageName.IMPLEMENT, timeout
    )


def nodes_of(recorder: Recorder) -> dict[str, str]:
    """Task → the Ray node its last attempt ran on (from the notices)."""
    found = {}
    for notice in recorder.of(ev.Notice):
        task, _, text = notice.text.partition(": ")
        if text.startswith("attempt runs on Ray node "):
            found[task] = text.removeprefix("attempt runs on Ray node ")
    return found


def run_plan(tmp_path: Path, plan: str, executor: str, address: str = "", **sections) -> dict:
    """Run a plan's implement stage; what a run's result is made of."""
    recorder = Recorder()
    engine, workspace = plan_engine(tmp_path, plan, recorder, executor, address, **sections)
    started = time.monotonic()
    with Background(engine):
        finished = implement_done(recorder)
    state = engine.state
    branch = f"orch/{state.run_id}"
    return {
        "finished": finished,
        "seconds": time.monotonic() - started,
        "tree": git(workspace, "rev-parse", f"{branch}^{{tree}}"),
        "status": {t: s.status for t, s in state.tasks.items()},
        "usage": {
            t: (s.input_tokens, s.output_tokens, s.cost_usd, s.changed_files)
            for t, s in state.tasks.items()
        },
        "nodes": nodes_of(recorder),
        "recorder": recorder,
        "engine": engine,
        "workspace": workspace,
    }


def processes_of_run(run_id: str) -> list[int]:
    """Live processes whose environment names this run (agents get ORCH_RUN_ID)."""
    mark = f"ORCH_RUN_ID={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if mark in environ.split(b"\0") and stat[stat.rfind(")") + 2 :].split()[0] != "Z":
            found.append(int(entry.name))
    return found
