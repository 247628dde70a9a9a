"""Built-in stage runners (analyze, plan, security, test, cleanup, review, complete).

Each runner turns a StageContext into a StageResult and never raises for bad input: a
missing tool, a hanging command, garbage output, a workspace without git or a run without
changes comes back as a clear summary at the gate. Reports go into the run directory.
"""

from __future__ import annotations

from ..core.config import Config
from ..core.models import StageName
from ..core.protocols import StageRunner


def builtin_runners(config: Config) -> dict[StageName, StageRunner]:
    """The runner of each stage that has one; parallel and implement are the engine's own."""
    from .analyze import AnalyzeRunner
    from .cleanup import CleanupRunner
    from .complete import CompleteRunner
    from .plan import PlanRunner
    from .review import ReviewRunner
    from .security import SecurityRunner
    from .testing import TestRunner

    return {
        StageName.ANALYZE: AnalyzeRunner(),
        StageName.PLAN: PlanRunner(),
        StageName.SECURITY: SecurityRunner(),
        StageName.TEST: TestRunner(),
        StageName.CLEANUP: CleanupRunner(),
        StageName.REVIEW: ReviewRunner(),
        StageName.COMPLETE: CompleteRunner(),
    }
