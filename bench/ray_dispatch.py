"""The Ray executor's costs, side by side with the local one in one run, on a local
two-node cluster (ray.cluster_utils.Cluster, `agent` resources on both nodes).

1. Dispatch: the implement stage of 100 independent no-op tasks (command backend, `true`),
   in git worktrees, 8 at a time, with run.executor = "local" and then "ray". Per task:
   the duration the engine records (launch → result, the same span for both) and the
   wall time of the stage ÷ tasks × concurrency. Added per task = ray − local. Goal ≤ 250 ms.
2. Line latency: one agent prints a line with its clock every 10 ms (300 lines); the time
   from the print to the line reaching the driver's events (median, p99), remote and local.
   Goal ≤ 100 ms median.

Not a test: it prints.  python bench/ray_dispatch.py [--tasks 100] [--lines 300]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from engine_support import Background, Recorder  # noqa: E402

from orchestrator_tui.core import events as ev  # noqa: E402
from orchestrator_tui.core.config import config_from_dict  # noqa: E402
from orchestrator_tui.core.models import STAGES, StageName, Task  # noqa: E402
from orchestrator_tui.core.protocols import AgentJob  # noqa: E402
from orchestrator_tui.engine.pipeline import EngineOptions  # noqa: E402
from orchestrator_tui.runtime import build_engine, make_backends  # noqa: E402

PRINTER = (
    "import sys, time\n"
    "n = int(sys.argv[1])\n"
    "for i in range(n):\n"
    "    print(f'{time.time():.6f} line {i}', flush=True)\n"
    "    time.sleep(0.01)\n"
)


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x", "PATH": "/usr/bin:/bin"}  # fmt: skip
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def repo(path: Path, plan: str) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "PLAN.md").write_text(plan)
    (path / "README.md").write_text("bench\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return path


def config(executor: str, address: str, concurrency: int, **agents: dict):
    noop = {"backend": "command", "command": ["true"]}
    run = {"retries": 0, "concurrency": concurrency, "isolation": "worktree", "executor": executor}
    data = {"agents": {"default": "noop", "noop": noop, **agents}, "run": run}
    return config_from_dict({**data, "ray": {"address": address}})


def dispatch(root: Path, executor: str, address: str, tasks: int, concurrency: int) -> dict:
    plan = "# Plan: no-ops\n\n" + "\n".join(
        f"## t{i}: no-op {i}\ndepends: none\n" for i in range(tasks)
    )
    workspace = repo(root / executor, plan)
    recorder = Recorder()
    options = EngineOptions(
        workspace=workspace,
        config=config(executor, address, concurrency),
        approve=frozenset(STAGES),
        watch=False,
        poll_interval=0.01,
        heartbeat=0.5,
    )
    engine = build_engine(options, [recorder])
    with Background(engine):
        recorder.wait_for(
            lambda e: isinstance(e, ev.StageStarted) and e.stage == StageName.IMPLEMENT, 120
        )
        started = time.monotonic()
        finished = recorder.wait_for(
            lambda e: isinstance(e, ev.StageFinished) and e.stage == StageName.IMPLEMENT, 1200
        )
        wall = time.monotonic() - started
    durations = [e.duration for e in recorder.of(ev.TaskFinished) if e.status == "done"]
    assert finished.status == "done" and len(durations) == tasks, finished.summary
    return {
        "median": statistics.median(durations),
        "p95": sorted(durations)[int(0.95 * (len(durations) - 1))],
        "per_task_wall": wall / tasks * concurrency,
        "wall": wall,
    }


class Arrivals:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.lock = threading.Lock()

    def output(self, lines) -> None:
        now = time.time()
        with self.lock:
            for line in lines:
                head = line.split(" ", 1)[0]
                with contextlib.suppress(ValueError):
                    self.latencies.append(now - float(head))

    def usage(self, *args) -> None:
        pass

    def notice(self, level: str, text: str) -> None:
        pass


def latency(root: Path, executor: str, address: str, lines: int) -> dict:
    workspace = repo(root / f"lat-{executor}", "# Plan: p\n")
    (workspace / "printer.py").write_text(PRINTER)
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "printer")
    workdir = workspace / ".orchestrator" / "worktrees" / "L"
    git(workspace, "worktree", "add", "-q", "-b", "lat", str(workdir))
    printer = {"backend": "command", "command": [sys.executable, "printer.py", str(lines)]}
    conf = config(executor, address, 1, printer=printer)
    name, profile = conf.agents.profile("printer")
    backend = make_backends(workspace, conf)(name, profile)
    prompt = root / f"prompt-{executor}.md"
    prompt.write_text("print")
    job = AgentJob(
        run_id="bench", task=Task(id="L", title="lines"), profile_name=name, profile=profile,
        prompt="print", prompt_file=prompt, workdir=workdir, log_path=root / f"L-{executor}.log",
        timeout=120, redact=False,
    )  # fmt: skip
    arrivals = Arrivals()
    result = backend.run(job, arrivals, threading.Event())
    assert result.ok, result.reason
    values = sorted(arrivals.latencies)
    return {
        "count": len(values),
        "median": statistics.median(values),
        "p99": values[int(0.99 * (len(values) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    import ray
    from ray.cluster_utils import Cluster

    os.environ.setdefault("RAY_num_workers_soft_limit", "8")  # an idle worker per agent
    began = time.monotonic()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": {"agent": 8}, "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, resources={"agent": 8})
    cluster.wait_for_nodes()
    print(f"two-node cluster up in {time.monotonic() - began:.1f} s")
    try:
        with tempfile.TemporaryDirectory(prefix="ray-bench-") as scratch:
            root = Path(scratch)
            # warm-up: the first attempts on a node pay for starting its Ray workers
            (root / "warm").mkdir()
            cold = dispatch(root / "warm", "ray", cluster.address, 16, args.concurrency)
            print(
                f"warm-up, 16 tasks on a fresh cluster: per task median "
                f"{cold['median'] * 1000:.0f} ms, p95 {cold['p95'] * 1000:.0f} ms"
            )
            results = {
                ex: dispatch(root, ex, cluster.address, args.tasks, args.concurrency)
                for ex in ("local", "ray")
            }
            print(f"\n{args.tasks} no-op tasks, {args.concurrency} at a time, in worktrees")
            for ex, r in results.items():
                print(
                    f"  {ex:6} per task median {r['median'] * 1000:6.0f} ms  "
                    f"p95 {r['p95'] * 1000:6.0f} ms  stage {r['wall']:6.1f} s  "
                    f"(wall ÷ tasks × concurrency {r['per_task_wall'] * 1000:.0f} ms)"
                )
            added = results["ray"]["median"] - results["local"]["median"]
            added_wall = results["ray"]["per_task_wall"] - results["local"]["per_task_wall"]
            print(f"added per task: {added * 1000:.0f} ms (median duration)")
            print(f"added per task by wall time: {added_wall * 1000:.0f} ms")
            print(f"\noutput line latency, agent print → driver events ({args.lines} lines)")
            for ex in ("local", "ray"):
                r = latency(root, ex, cluster.address, args.lines)
                print(
                    f"  {ex:6} median {r['median'] * 1000:5.0f} ms  p99 {r['p99'] * 1000:5.0f} ms"
                    f"  ({r['count']} lines)"
                )
                if ex == "ray":
                    print(
                        f"remote line latency: median {r['median'] * 1000:.0f} ms, "
                        f"p99 {r['p99'] * 1000:.0f} ms"
                    )
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    main()
