"""The monitor's view of a run whose engine is gone: core/settle.py (shared with `status`
and the past-runs screen)."""

from __future__ import annotations

from ..core.settle import STOPPED_REASON, settled
from ..core.tally import task_tally

__all__ = ["STOPPED_REASON", "settled", "task_tally"]
