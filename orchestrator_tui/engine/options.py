"""What a run is started with (EngineOptions), and how a CI run ends at a gate nobody
answers (GateUnanswered)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.config import Config
from ..core.models import StageName
from ..core.protocols import TaskIsolation
from .context import Cancelled


class GateUnanswered(Cancelled):
    """Headless CI mode: a gate needs a person and none answered within `gate_wait`. The run
    stops resumably; `reason` is one line (what waits, why)."""

    def __init__(self, stage: StageName, reason: str, timed_out: bool) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason
        self.timed_out = timed_out


@dataclass(frozen=True)
class EngineOptions:
    workspace: Path
    config: Config
    approve: frozenset[StageName] = frozenset()
    goal: str = ""
    resume: bool = True
    run_id: str = ""
    watch: bool = True
    poll_interval: float = 0.05
    heartbeat: float = 2.0
    concurrency: int = 0
    system_path: Path | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    gate_wait: float | None = None  # seconds a gate waits for a person; None: for ever
    unattended: bool = False  # headless with --approve all: no permission request waits

    @property
    def plan_path(self) -> Path:
        return self.workspace / self.config.run.plan


IsolationFactory = Callable[[Path, str, Config], TaskIsolation]
