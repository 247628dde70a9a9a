"""The driver side of run.executor = "ray": implement tasks run on a Ray cluster.

`RayBackends` is the engine's BackendFactory when the executor is Ray. Each backend it
makes wraps the local one: an attempt whose working directory is one of our task worktrees
(`.orchestrator/worktrees/<task>`) runs on the cluster, as one Ray task (remote.py); any
other agent (a stage's own agent in the workspace, a workspace without worktrees) runs
here as before. Seen from the engine it is the same blocking `run(job, events, cancel)`:

- the worktree's HEAD (the run branch's head when the task was prepared) goes as a bundle
  (RayCluster.bundle_of), the `copy_into_worktrees` files that are there go with it;
- the batches that stream back are replayed into `events` (display lines, usage, notices)
  and the raw log bytes are appended to the task's log, so the UI, the monitor and the
  event log see what a local attempt shows, plus one notice naming the node;
- at the end the work bundle becomes the task's branch in its worktree (land_bundle), and
  the implementer's usual finish (commit, merge, conflicts) takes it from there;
- `cancel` cancels the Ray task (the worker stops the agent's group), then force-cancels
  it after a grace period (the worker's lifeline kills the group);
- a node or worker lost mid-attempt gives "worker lost: …" with `requeue`, which the
  implementer retries without counting it against the task's retries.

A driver killed with kill -9 takes its Ray tasks with it (Ray ends a dead driver's
tasks, the lifelines kill their agents); the work of such an attempt only ever reached the
driver's worktree, which resume prepares afresh, so nothing is merged twice.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ..core.config import AgentProfile, Config
from ..core.protocols import AgentBackend, AgentEvents, AgentJob, AgentResult, BackendFactory
from ..infra.git import GitError, git
from ..infra.ray_cluster import RayCluster, RayUnavailable, land_bundle
from ..infra.store import orchestrator_dir
from ..infra.workspace import RUN_WORKTREE
from .remote import RemoteSpec, run_attempt

CANCEL_GRACE = 10.0
WAIT_TICK = 0.05
SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")
LOST = (
    "NodeDiedError",
    "WorkerCrashedError",
    "ObjectLostError",
    "OwnerDiedError",
    "ObjectFetchTimedOutError",
    "ObjectReconstructionFailedError",
    "LocalRayletDiedError",
    "RaySystemError",
)


def travelling_env(names: list[str], job_env: dict[str, str], environ: dict[str, str]) -> dict:
    """The env values that go with a remote attempt: only the names `[ray] env` lists,
    never one that looks like a credential."""
    found = {}
    for name in names:
        if any(word in name.upper() for word in SECRET_WORDS):
            continue
        if name in job_env:
            found[name] = job_env[name]
        elif name in environ:
            found[name] = environ[name]
    return found


def lost_reason(exc: BaseException) -> str | None:
    """ "worker lost: …" for a Ray error that means the node or worker went away."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & set(LOST):
        text = " ".join(str(exc).split())
        return f"worker lost: {type(exc).__name__}: {text[:200]}"
    return None


class RayBackends:
    """A BackendFactory: the local one's backends, wrapped for the cluster."""

    def __init__(self, workspace: Path, config: Config, local: BackendFactory) -> None:
        self.workspace = workspace.resolve()
        self.config = config
        self.local = local
        self.cluster = RayCluster(config.ray)

    def __call__(self, name: str, profile: AgentProfile) -> AgentBackend:
        return RayBackend(self, name, profile, self.local(name, profile))

    def remote_workdir(self, workdir: Path) -> bool:
        root = orchestrator_dir(self.workspace) / "worktrees"
        try:
            relative = workdir.resolve().relative_to(root.resolve())
        except ValueError:
            return False
        return bool(relative.parts) and relative.parts[0] != RUN_WORKTREE


class RayBackend:
    def __init__(
        self, owner: RayBackends, name: str, profile: AgentProfile, local: AgentBackend
    ) -> None:
        self.owner = owner
        self.name = name
        self.profile = profile
        self.local = local

    def run(self, job: AgentJob, events: AgentEvents, cancel: Any) -> AgentResult:
        if not self.owner.remote_workdir(job.workdir):
            return self.local.run(job, events, cancel)
        cluster = self.owner.cluster
        try:
            ray = cluster.connect()
            missing = cluster.missing_resources()
        except RayUnavailable as exc:
            return AgentResult(ok=False, reason=str(exc), exit_code=None)
        if missing:
            wanted = ", ".join(f"{n!r}" for n in missing)
            reason = (
                f"no Ray node offers the resource {wanted} that [ray] resources asks for "
                "(start workers with `ray start --resources '{\"agent\": 8}'`)"
            )
            return AgentResult(ok=False, reason=reason, exit_code=None)
        try:
            spec, copies = self.spec(job)
            bundle = cluster.bundle_of(job.workdir, spec.base)
        except (GitError, OSError) as exc:
            return AgentResult(ok=False, reason=f"could not send the task: {exc}", exit_code=None)
        copies_ref = ray.put(copies) if copies else None
        stream = cluster.remote(run_attempt).remote(spec, bundle, copies_ref)
        return self.follow(ray, stream, job, events, cancel, spec.base)

    def spec(self, job: AgentJob) -> tuple[RemoteSpec, dict[str, bytes]]:
        workdir = job.workdir
        base = git(workdir, "rev-parse", "HEAD").stdout.strip()
        prefix = git(workdir, "rev-parse", "--show-prefix").stdout.strip()
        config = self.owner.config
        copies: dict[str, bytes] = {}
        for relative in config.run.copy_into_worktrees:
            path = workdir / relative
            if (
                path.is_file()
                and git(
                    workdir, "ls-files", "--error-unmatch", "--", relative, check=False
                ).returncode
            ):
                copies[relative] = path.read_bytes()
        env = travelling_env(config.ray.env, dict(job.env), dict(os.environ))
        spec = RemoteSpec(
            run_id=job.run_id,
            task=job.task,
            profile_name=job.profile_name,
            profile=job.profile,
            prompt=job.prompt,
            attempt=job.attempt,
            base=base,
            prefix=prefix,
            driver_workdir=str(workdir),
            timeout=job.timeout,
            stall_after=job.stall_after,
            env=env,
            resume_session=job.resume_session,
            redact=job.redact,
            copy_files=tuple(config.run.copy_into_worktrees),
        )
        return spec, copies

    def follow(
        self, ray: Any, stream: Any, job: AgentJob, events: AgentEvents, cancel: Any, base: str
    ) -> AgentResult:
        """Replay the attempt's batches until its result (or its loss, or a cancel)."""
        cancelled_at = 0.0
        forced = False
        final: dict[str, Any] | None = None
        job.log_path.parent.mkdir(parents=True, exist_ok=True)
        with job.log_path.open("ab") as log:
            while final is None:
                if cancel.is_set():
                    now = time.monotonic()
                    if not cancelled_at:
                        cancelled_at = now
                        ray.cancel(stream)
                    elif not forced and now - cancelled_at > CANCEL_GRACE:
                        forced = True
                        ray.cancel(stream, force=True)
                ready, _ = ray.wait([stream], timeout=WAIT_TICK)
                if not ready:
                    continue
                try:
                    item = ray.get(next(stream))
                except StopIteration:
                    break
                except Exception as exc:
                    return self.failed(exc, bool(cancelled_at))
                final = self.replay(item, events, log)
        if final is None:
            return AgentResult(ok=False, reason="the remote attempt ended without a result")
        result: AgentResult = final["result"]
        if result.ok and final.get("bundle"):
            try:
                land_bundle(job.workdir, final["bundle"], base)
            except (GitError, OSError, RuntimeError) as exc:
                reason = f"could not take the remote work back: {exc}"
                return AgentResult(ok=False, reason=reason, exit_code=None)
        return result

    def replay(self, item: dict[str, Any], events: AgentEvents, log: Any) -> dict | None:
        if "result" in item:
            return item
        if "node" in item:
            events.notice("info", f"attempt runs on Ray node {item['node']}")
            log.write(f"=== on Ray node {item['node']} (worker pid {item['pid']})\n".encode())
            log.flush()
            return None
        if item.get("log"):
            log.write(item["log"])
            log.flush()
        if item.get("out"):
            events.output(item["out"])
        for usage in item.get("usage", ()):
            events.usage(*usage)
        for level, text in item.get("notices", ()):
            events.notice(level, text)
        return None

    @staticmethod
    def failed(exc: BaseException, cancelled: bool) -> AgentResult:
        if cancelled or type(exc).__name__ == "TaskCancelledError":
            return AgentResult(ok=False, reason="cancelled", exit_code=None)
        lost = lost_reason(exc)
        if lost:
            return AgentResult(ok=False, reason=lost, exit_code=None, requeue=True)
        text = " ".join(str(exc).split())[-300:]
        return AgentResult(ok=False, reason=f"remote attempt failed: {text}", exit_code=None)
