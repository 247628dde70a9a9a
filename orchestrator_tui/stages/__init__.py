"""Built-in stage runners (analyze, plan, security, test, cleanup, review, complete)."""

from __future__ import annotations

from ..core.config import Config
from ..core.models import StageName
from ..core.protocols import StageRunner


def builtin_runners(config: Config) -> dict[StageName, StageRunner]:
    """The runner of each stage that has one; the others pass straight through."""
    return {}
