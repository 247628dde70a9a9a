"""The Ray executor's parts that need no cluster: imports, the worker body run directly,
bundles both ways, the lifeline, what travels, how Ray errors read, the stderr filter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agent_support import fake, git, make_repo, pid_alive, wait_dead

from orchestrator_tui.agents.ray_backend import lost_reason, travelling_env
from orchestrator_tui.agents.remote import RemoteSpec, run_attempt, start_lifeline
from orchestrator_tui.core.config import AgentProfile, config_from_dict
from orchestrator_tui.core.models import Task
from orchestrator_tui.infra.ray_cluster import land_bundle
from orchestrator_tui.infra.ray_quiet import filtered, stderr_filtered


def test_the_cli_and_a_ray_configured_engine_import_no_ray(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import orchestrator_tui.cli\n"
        "assert 'ray' not in sys.modules, 'the cli imported ray'\n"
        "from pathlib import Path\n"
        "from orchestrator_tui.core.config import config_from_dict\n"
        "from orchestrator_tui.engine.pipeline import EngineOptions\n"
        "from orchestrator_tui.runtime import build_engine\n"
        "config = config_from_dict({'run': {'executor': 'ray'}})\n"
        f"build_engine(EngineOptions(workspace=Path({str(tmp_path)!r}), config=config))\n"
        "assert 'ray' not in sys.modules, 'building the engine imported ray'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_ray_settings_have_their_defaults_and_are_checked() -> None:
    config = config_from_dict({})
    assert config.run.executor == "local"
    assert config.ray.resources == {"agent": 1.0} and config.ray.num_cpus == 0
    assert config_from_dict({"run": {"executor": "ray"}}).run.executor == "ray"


def test_only_listed_names_travel_and_never_a_credential() -> None:
    names = ["LANG", "FAKE_MODE", "ANTHROPIC_API_KEY", "GH_TOKEN", "MISSING"]
    env = travelling_env(names, {"FAKE_MODE": "1", "GH_TOKEN": "x"}, {"LANG": "C", "OTHER": "y"})
    assert env == {"LANG": "C", "FAKE_MODE": "1"}


def test_a_lost_node_or_worker_reads_as_worker_lost() -> None:
    NodeDiedError = type("NodeDiedError", (RuntimeError,), {})
    WorkerCrashedError = type("WorkerCrashedError", (RuntimeError,), {})
    assert lost_reason(NodeDiedError("node 12ab\n died")) == (
        "worker lost: NodeDiedError: node 12ab died"
    )
    assert lost_reason(WorkerCrashedError("gone")).startswith("worker lost: ")
    assert lost_reason(ValueError("a bug")) is None


def test_the_stderr_filter_drops_rays_log_lines_only() -> None:
    ray_line = b"[2026-12-02 06:07:11,737 I 26139 26140] logging.cc:303: Set ray log level\n"
    assert filtered(b"\x1b[2Jframe" + b"") == b"\x1b[2Jframe"
    assert filtered(ray_line + b"keep me\n") == b"keep me\n"
    code = (
        "import os\n"
        "from orchestrator_tui.infra.ray_quiet import stderr_filtered\n"
        "with stderr_filtered():\n"
        f"    os.write(2, {ray_line!r})\n"
        "    os.write(2, b'app drawing\\n')\n"
        "os.write(2, b'after\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30)
    assert done.returncode == 0
    assert done.stderr == b"app drawing\nafter\n"
    with stderr_filtered():  # in this process too: fd 2 comes back as it was
        pass
    os.write(2, b"")


def test_the_lifeline_kills_the_agents_group_when_its_worker_dies(tmp_path: Path) -> None:
    """The worker (here: this test) holds the pipe; closing it is the worker's death."""
    directory = tmp_path / "orch-remote-x"
    directory.mkdir()
    pidfile = directory / "agent.pid"
    token = "tok123"
    agent = subprocess.Popen(
        ["sleep", "60"], start_new_session=True, env={**os.environ, "ORCH_AGENT_TOKEN": token}
    )
    pidfile.write_text(f"{agent.pid} {token}\n")
    lifeline = start_lifeline(pidfile, directory)
    time.sleep(0.3)
    assert pid_alive(agent.pid)
    lifeline.stdin.close()
    lifeline.wait(timeout=15)
    agent.wait(timeout=10)
    assert agent.returncode == -signal.SIGTERM
    assert not directory.exists()
    assert wait_dead(agent.pid)


def spec_for(repo: Path, prompt: str, **fields) -> RemoteSpec:
    values: dict = {
        "run_id": "r1",
        "task": Task(id="T1", title="Write it"),
        "profile_name": "claude",
        "profile": AgentProfile(executable=fake("claude")),
        "prompt": prompt,
        "attempt": 1,
        "base": git(repo, "rev-parse", "HEAD"),
        "timeout": 30.0,
        "copy_files": (".env",),
    }
    values.update(fields)
    return RemoteSpec(**values)


def bundle_of(repo: Path) -> bytes:
    out = repo.parent / "head.bundle"
    git(repo, "bundle", "create", str(out), "HEAD")
    return out.read_bytes()


def test_the_worker_body_runs_the_agent_and_returns_its_work_as_a_bundle(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws", {"README.md": "hello\n"})
    prompt = "WRITE_FILE: out.txt\nCONTENT: from afar\n"
    spec = spec_for(repo, prompt)
    items = list(run_attempt(spec, bundle_of(repo), {".env": b"SECRET=1\n"}))
    assert "node" in items[0]
    final = items[-1]
    result = final["result"]
    assert result.ok, result.reason
    lines = [line for item in items[1:-1] for line in item.get("out", ())]
    assert lines and any("out.txt" in line for line in lines)
    usage = [u for item in items for u in item.get("usage", ())]
    assert sum(u[0] for u in usage) > 0
    log = b"".join(item.get("log", b"") for item in items)
    assert b'{"type":"result"' in log
    # the work lands as the worktree's new head; the copied-in .env never travels back
    head = land_bundle(repo, final["bundle"], spec.base)
    assert git(repo, "show", f"{head}:out.txt") == "from afar"
    assert ".env" not in git(repo, "ls-tree", "--name-only", head).split()
    assert git(repo, "log", "-1", "--format=%s", head) == "T1: Write it"


def test_the_worker_body_says_which_node_lacks_the_agent_cli(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws", {"README.md": "hello\n"})
    spec = spec_for(repo, "hi", profile=AgentProfile(executable=str(tmp_path / "none")))
    final = list(run_attempt(spec, bundle_of(repo), None))[-1]
    assert not final["result"].ok and final["bundle"] is None
    assert "executable not found" in final["result"].reason
    assert "on Ray node" in final["result"].reason


def test_nothing_changed_means_no_bundle(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "ws", {"README.md": "hello\n"})
    final = list(run_attempt(spec_for(repo, "just answer"), bundle_of(repo), None))[-1]
    assert final["result"].ok and final["bundle"] is None
