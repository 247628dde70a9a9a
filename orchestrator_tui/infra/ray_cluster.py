"""The driver's connection to a Ray cluster, and the git bundles that travel through it.

Nothing here imports ray before `RayCluster.connect` is first called, which is only when
`run.executor = "ray"` and an implement task starts (`import ray` costs ~1 s and ~70 MB).
`connect` is quiet, as the Textual app needs (ray_quiet.py): nothing of Ray reaches the
terminal, `ray.init` is called from an agent thread (so it installs no signal handler),
worker output is not forwarded here, and no dashboard is started.

The run branch travels as a bundle of its head, put in Ray's object store once per head
(every task that starts from that head shares the object; each node fetches it once).
A finished attempt's work comes back as a bundle of base..HEAD, which `land_bundle` turns
into the task's branch in its worktree, where the existing merge takes it.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..core.config import RaySettings
from .git import git
from .ray_quiet import (
    fault_handler_on_real_stderr,
    quiet_error_printer,
    quiet_loggers,
    stderr_filtered,
)
from .workspace import is_ancestor, rev

KEPT_BUNDLES = 8


class RayUnavailable(RuntimeError):
    """Ray is not installed, or the cluster cannot be reached; the message says which."""


class RayCluster:
    """One connection per process (ray.init is process-wide), made on first use."""

    lock = threading.Lock()

    def __init__(self, settings: RaySettings) -> None:
        self.settings = settings
        self.ray: Any = None
        self.bundles: OrderedDict[str, Any] = OrderedDict()
        self.functions: dict[int, Any] = {}
        self.resources_seen = False

    def connect(self) -> Any:
        """The ray module, connected to the configured cluster."""
        with self.lock:
            if self.ray is not None:
                return self.ray
            try:
                import ray
            except ImportError:
                raise RayUnavailable(
                    'run.executor is "ray" but ray is not installed: '
                    "pip install 'orchestrator-tui[ray]'"
                ) from None
            quiet_loggers()
            fault_handler_on_real_stderr()
            if not ray.is_initialized():
                address = self.settings.address or "auto"
                try:
                    with stderr_filtered():
                        ray.init(
                            address=address,
                            logging_level=logging.CRITICAL,
                            log_to_driver=False,
                            include_dashboard=False,
                        )
                except Exception as exc:
                    raise RayUnavailable(
                        f"cannot reach the Ray cluster at {address}: {exc}"
                    ) from None
            quiet_error_printer(ray)
            self.ray = ray
            return ray

    def missing_resources(self) -> list[str]:
        """Resources a task needs that no node of the cluster offers at all."""
        assert self.ray is not None
        if self.resources_seen:  # asked once: a GCS round trip per attempt is not free
            return []
        total = self.ray.cluster_resources()
        wanted = self.settings.resources.items()
        missing = [name for name, amount in wanted if total.get(name, 0) < amount]
        self.resources_seen = not missing
        return missing

    def remote(self, function: Any) -> Any:
        """`function` as a streaming Ray task with our options (made once)."""
        key = id(function)
        with self.lock:
            if key not in self.functions:
                settings = self.settings
                self.functions[key] = self.ray.remote(
                    num_returns="streaming",
                    max_retries=0,  # Ray's retry would splice two attempts' output
                    num_cpus=settings.num_cpus,
                    resources=dict(settings.resources),
                    scheduling_strategy="SPREAD",
                )(function)
            return self.functions[key]

    def bundle_of(self, workdir: Path, head: str) -> Any:
        """An object ref of the bundle of `head` (the worktree's HEAD), put once per head."""
        with self.lock:
            ref = self.bundles.get(head)
            if ref is not None:
                self.bundles.move_to_end(head)
                return ref
        with tempfile.TemporaryDirectory(prefix="orch-bundle-") as scratch:
            path = Path(scratch) / "base.bundle"
            git(workdir, "bundle", "create", "--quiet", str(path), "HEAD")
            ref = self.ray.put(path.read_bytes())
        with self.lock:
            self.bundles[head] = ref
            while len(self.bundles) > KEPT_BUNDLES:
                self.bundles.popitem(last=False)
            return ref


def land_bundle(workdir: Path, data: bytes, base: str) -> str:
    """The commits of a work bundle become the worktree's branch; returns the new head."""
    with tempfile.TemporaryDirectory(prefix="orch-bundle-") as scratch:
        path = Path(scratch) / "work.bundle"
        path.write_bytes(data)
        listed = git(workdir, "bundle", "unbundle", str(path)).stdout.split()
    if not listed:
        raise RuntimeError("the work bundle has no head")
    head = listed[0]
    if not is_ancestor(workdir, base, head):
        raise RuntimeError(f"the remote work ({head[:12]}) does not start from {base[:12]}")
    git(workdir, "reset", "--quiet", "--hard", head)
    return rev(workdir, "HEAD")
