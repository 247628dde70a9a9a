"""The worker side of a remote attempt (run.executor = "ray"): one Ray task per attempt.

`run_attempt` is the body of that task, a streaming generator (the driver wraps it with
ray.remote in ray_backend.py; this module never imports ray at import time). On the
worker node it:

1. starts a lifeline (lifeline.py): a watchdog in a session of its own that kills the
   agent's process group and removes the attempt's temporary directory when this worker
   dies, however it dies;
2. makes a repository from the run branch's bundle (one object in Ray's object store per
   run-branch head, so each node fetches it once) in a temporary directory, checked out at
   that head, and writes the `copy_into_worktrees` files that travelled with the attempt;
3. runs the task's profile there with the same backend and runner as a local attempt
   (process group, timeout, stall warnings, redaction, usage parsing), in a thread;
4. yields batches as they come: {"node"}, then {"out", "usage", "notices", "log"} (display
   lines, usage increments, notices, the raw bytes of the task's log), and at the end
   {"result", "bundle"}: the AgentResult and, when the agent changed anything, its work
   committed ("ID: title", copied-in files left out) as a bundle of base..HEAD.

A cancel from the driver (ray.cancel) arrives as an exception in this generator: the agent
is stopped (its whole group) before the exception goes on. Credentials never travel: the
agent gets this node's environment plus the profile's env and the names in `[ray] env`.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.config import AgentProfile
from ..core.models import Task
from ..core.protocols import AgentJob, AgentResult
from ..infra.git import git

BATCH_WAIT = 0.05
LIFELINE = Path(__file__).resolve().with_name("lifeline.py")
STOP_WAIT = 30.0


@dataclass(frozen=True)
class RemoteSpec:
    """What one remote attempt needs (no credentials: see `[ray] env`)."""

    run_id: str
    task: Task
    profile_name: str
    profile: AgentProfile
    prompt: str
    attempt: int
    base: str  # the commit the attempt starts from (the run branch's head at prepare)
    prefix: str = ""  # the workspace's directory inside the repository
    driver_workdir: str = ""
    timeout: float = 1800.0
    stall_after: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    resume_session: str = ""
    redact: bool = True
    copy_files: tuple[str, ...] = ()


class QueueEvents:
    """AgentEvents that hand everything to the generator's thread through a queue."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue()

    def output(self, lines: Sequence[str]) -> None:
        self.queue.put(("out", list(lines)))

    def usage(self, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
        self.queue.put(("usage", (input_tokens, output_tokens, cost_usd)))

    def notice(self, level: str, text: str) -> None:
        self.queue.put(("notice", (level, text)))


def node_name() -> str:
    """This Ray node as "ip/node-id"; the host name outside a Ray worker."""
    ray = sys.modules.get("ray")
    if ray is not None and ray.is_initialized():  # never start Ray from here
        context = ray.get_runtime_context()
        return f"{ray.util.get_node_ip_address()}/{context.get_node_id()[:8]}"
    return os.uname().nodename


def start_lifeline(pidfile: Path, directory: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-I", str(LIFELINE), str(pidfile), str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def checkout(repo: Path, bundle: bytes, base: str) -> None:
    """A repository at `base`, made from the run branch's bundle."""
    repo.mkdir(parents=True)
    (repo.parent / "base.bundle").write_bytes(bundle)
    git(repo, "init", "--quiet")
    git(repo, "bundle", "unbundle", str(repo.parent / "base.bundle"))
    git(repo, "checkout", "--quiet", "--detach", base)


def untracked(workdir: Path, names: Sequence[str]) -> list[str]:
    found = []
    for relative in names:
        if not (workdir / relative).exists():
            continue
        tracked = git(workdir, "ls-files", "--error-unmatch", "--", relative, check=False)
        if tracked.returncode != 0:
            found.append(relative)
    return found


def commit_bundle(repo: Path, workdir: Path, spec: RemoteSpec) -> bytes | None:
    """The agent's work as a bundle of base..HEAD (None when it changed nothing)."""
    excluded = [f":(exclude,literal){p}" for p in untracked(workdir, spec.copy_files)]
    git(workdir, "add", "-A", "--", ".", *excluded)
    if git(workdir, "diff", "--cached", "--quiet", check=False).returncode != 0:
        message = f"{spec.task.id}: {spec.task.title}"
        git(workdir, "commit", "--quiet", "--no-verify", "-m", message)
    head = git(repo, "rev-parse", "HEAD").stdout.strip()
    if head == spec.base:
        return None
    out = repo.parent / "work.bundle"
    git(repo, "bundle", "create", "--quiet", str(out), "HEAD", f"^{spec.base}")
    return out.read_bytes()


class LogTail:
    """New bytes of the worker-side log, for the driver's copy of it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def read(self) -> bytes:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except OSError:
            return b""
        self.offset += len(data)
        return data


def drain(events: QueueEvents, first: tuple[str, Any] | None, log: LogTail) -> dict[str, Any]:
    batch: dict[str, Any] = {"out": [], "usage": [], "notices": []}
    item = first
    while item is not None:
        kind, value = item
        if kind == "out":
            batch["out"].extend(value)
        elif kind == "usage":
            batch["usage"].append(value)
        elif kind == "end":
            batch["end"] = True
        else:
            batch["notices"].append(value)
        try:
            item = events.queue.get_nowait()
        except queue.Empty:
            item = None
    batch["log"] = log.read()
    return batch


def run_attempt(
    spec: RemoteSpec, bundle: bytes, copies: dict[str, bytes] | None
) -> Iterator[dict[str, Any]]:
    """The Ray task: see the module docstring."""
    from . import make_backend

    node = node_name()
    yield {"node": node, "pid": os.getpid()}
    directory = Path(tempfile.mkdtemp(prefix="orch-remote-"))
    log_path = directory / "agent.log"
    lifeline = start_lifeline(log_path.with_suffix(".pid"), directory)
    try:
        repo = directory / "repo"
        checkout(repo, bundle, spec.base)
        workdir = repo / spec.prefix if spec.prefix else repo
        workdir.mkdir(parents=True, exist_ok=True)
        for relative, data in (copies or {}).items():
            target = workdir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        prompt = spec.prompt
        if spec.driver_workdir:
            prompt = prompt.replace(spec.driver_workdir, str(workdir))
        prompt_file = directory / "prompt.md"
        prompt_file.write_text(prompt, encoding="utf-8")
        job = AgentJob(
            run_id=spec.run_id,
            task=spec.task,
            profile_name=spec.profile_name,
            profile=spec.profile,
            prompt=prompt,
            prompt_file=prompt_file,
            workdir=workdir,
            log_path=log_path,
            attempt=spec.attempt,
            timeout=spec.timeout,
            stall_after=spec.stall_after,
            env=dict(spec.env),
            resume_session=spec.resume_session,
            redact=spec.redact,
        )
        backend = make_backend(repo, spec.profile_name, spec.profile)
        events = QueueEvents()
        cancel = threading.Event()
        results: list[AgentResult] = []

        def work() -> None:
            try:
                results.append(backend.run(job, events, cancel))
            except Exception as exc:
                reason = f"backend crashed: {type(exc).__name__}: {exc}"
                results.append(AgentResult(ok=False, reason=reason, exit_code=None))
            finally:
                events.queue.put(("end", None))  # wakes the loop below at once

        thread = threading.Thread(target=work, name=f"remote-{spec.task.id}", daemon=True)
        thread.start()
        log = LogTail(log_path)
        try:
            ended = False
            while not ended:
                try:
                    first = events.queue.get(timeout=BATCH_WAIT)
                except queue.Empty:
                    first = None
                batch = drain(events, first, log)
                ended = bool(batch.pop("end", False))
                if batch["out"] or batch["usage"] or batch["notices"] or batch["log"]:
                    yield batch
        except BaseException:  # cancelled by the driver: the agent's whole group goes first
            cancel.set()
            thread.join(STOP_WAIT)
            raise
        thread.join()
        tail = drain(events, None, log)
        if tail["out"] or tail["usage"] or tail["notices"] or tail["log"]:
            yield tail
        result = results[0]
        if "executable not found" in result.reason:
            result = AgentResult(
                ok=False,
                reason=f"{result.reason}; on Ray node {node}: install the agent CLI there, "
                "or give the `agent` resource only to nodes that have it",
                exit_code=None,
            )
        work_bundle = commit_bundle(repo, workdir, spec) if result.ok else None
        yield {"result": result, "bundle": work_bundle}
    finally:
        if lifeline.stdin is not None:
            lifeline.stdin.close()  # the watchdog kills leftovers and removes the directory
        with contextlib.suppress(subprocess.TimeoutExpired):
            lifeline.wait(timeout=0.01)  # reaped here when quick, else by whoever adopts it
