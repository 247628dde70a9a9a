"""A past run, read-only: its log folded as a timeline, its plan, summary and files.

What the past-runs screens show is read here, once, off the UI thread when it can be
(reading and folding a long log takes a moment): `load_past_run` reads the event log with
infra/run_index.py (a torn or garbage line is a warning, never an exception), builds the
core/timeline.py Timeline over the events that folded, and names the run's files. The
screens then ask for the state and the plan view at a position of the timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core import events as ev
from ..core.models import StageName
from ..core.run_summary import RunSummary
from ..core.settle import settled
from ..core.state import RunState
from ..core.timeline import Timeline
from ..infra.run_index import live_run, read_run, run_ids, summarize_record
from ..infra.store import RunFiles
from .plan_view import PlanView


class UnknownRun(LookupError):
    """No run of that ID (or no run at all) in the workspace."""


@dataclass
class PastRun:
    """One run as its files left it. `live`: an engine holds the run now (what is shown
    is the log as it stood when it was read)."""

    files: RunFiles
    summary: RunSummary
    timeline: Timeline
    warnings: tuple[str, ...] = ()
    live: bool = False
    plans: dict[tuple[int, tuple[str, ...]], PlanView] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return self.files.run_id

    def state_at(self, position: int) -> RunState:
        """The state after `position` events. At the end of a run whose engine is gone
        (a quit, a crash) the tasks it left started are not running: settled."""
        state = self.timeline.state_at(position)
        if position >= self.timeline.end and not self.live and not state.finished:
            return settled(state, engine_alive=False)
        return state

    def plan_at(self, position: int, state: RunState) -> PlanView:
        """The plan as the panes showed it then: the last freeze, and the reloads since."""
        changes = self.timeline.plan_events_until(position)
        key = (len(changes), tuple(state.tasks))
        view = self.plans.get(key)
        if view is None:
            view = PlanView.at_start((), state)
            for change in changes:
                if isinstance(change, ev.PlanFrozen):
                    view = view.frozen(change, state)
                else:
                    view = view.reloaded(change, state)
            self.plans[key] = view
        return view

    def summary_path(self) -> Path:
        """Where the complete stage wrote summary.md (the run's directory by default)."""
        evidence = self.timeline.state_at(self.timeline.end).stages[StageName.COMPLETE].evidence
        value = evidence.get("summary_path") if isinstance(evidence, dict) else None
        return Path(value) if value else self.files.dir / "summary.md"

    def summary_markdown(self) -> str:
        """summary.md as the run left it, or why there is none."""
        path = self.summary_path()
        try:
            return path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return (
                f"No summary: the run did not reach the Complete stage (`{path}` does not "
                "exist). Its board and timeline show how far it went."
            )
        except OSError as exc:
            return f"Cannot read `{path}`: {exc.strerror or exc}"

    def log_file(self, task_id: str) -> Path | None:
        path = self.files.log(task_id)
        return path if path.is_file() else None


def resolve_run_id(workspace: Path, wanted: str) -> str:
    """`wanted` as a run ID of the workspace: exact, `last`/`latest`, or a unique prefix
    or suffix (`ab12`). UnknownRun says what there is when none fits."""
    ids = run_ids(workspace)
    if not ids:
        raise UnknownRun(f"no runs in {workspace / '.orchestrator' / 'runs'}")
    if wanted in ("last", "latest"):
        return ids[-1]
    if wanted in ids:
        return wanted
    fits = [i for i in ids if i.startswith(wanted) or i.endswith(wanted)] if wanted else []
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise UnknownRun(f"{wanted!r} fits {len(fits)} runs: " + ", ".join(fits[-5:]))
    raise UnknownRun(f"no run {wanted!r}; the newest are " + ", ".join(reversed(ids[-5:])))


def load_past_run(workspace: Path, run_id: str) -> PastRun:
    """Read and fold a run's log (never raises for what is in the file)."""
    files = RunFiles(workspace, run_id)
    if not files.events.is_file():
        raise UnknownRun(f"no run {run_id!r} in {workspace}")
    record = read_run(files)
    live = live_run(workspace) == run_id
    summary = summarize_record(record, run_id if live else "")
    return PastRun(
        files=files,
        summary=summary,
        timeline=Timeline(record.events),
        warnings=tuple(record.warnings),
        live=live,
    )
