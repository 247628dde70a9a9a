"""A run's event log as a timeline: the state as it was after any event, and its milestones.

The past-runs screen scrubs over a finished (or stopped) run: position `n` is the state
after the run's first `n` events, folded with core.state.apply — the same fold as resume,
the monitor and `status`, so the picture at the end is the picture the run left. Folding
from the start at every step would cost the whole log; the timeline keeps a state every
CHECKPOINT events (states are immutable, so keeping one is keeping a reference) and folds
at most CHECKPOINT events from the nearest one, or one event from the last position.

Milestones are the events worth jumping to: the run starting or finishing, a stage
starting, a gate opening, a stage or a task failing, a fix round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import events as ev
from .state import RunState, apply

CHECKPOINT = 64


def what_happened(event: ev.EventBase) -> str:
    """One plain line for an event: `T3 done`, `Security finished: 2 findings`…"""
    match event:
        case ev.RunStarted():
            return "run resumed" if event.resumed else "run started"
        case ev.StageStarted():
            again = f" (run {event.attempt})" if event.attempt > 1 else ""
            return f"{event.stage.title} started{again}"
        case ev.StageFinished():
            said = f": {event.summary}" if event.summary else ""
            return f"{event.stage.title} {event.status}{said}"
        case ev.GateOpened():
            waits = "failed, waits for a decision" if event.failed else "waits for approval"
            return f"{event.stage.title} {waits}"
        case ev.GateDecided():
            return f"{event.stage.title}: {event.decision} by {event.by}"
        case ev.PlanFrozen():
            return f"plan frozen: {len(event.tasks)} tasks in {len(event.waves)} waves"
        case ev.PlanReloaded():
            return f"PLAN.md invalid: {event.error}" if event.error else "PLAN.md reloaded"
        case ev.TaskStarted():
            again = f" (attempt {event.attempt})" if event.attempt > 1 else ""
            on = f" on {event.agent}" if event.agent else ""
            return f"{event.task} started{on}{again}"
        case ev.TaskFinished():
            said = f": {event.reason}" if event.reason and event.status != "done" else ""
            retry = ", will retry" if event.will_retry else ""
            return f"{event.task} {event.status}{said}{retry}"
        case ev.TaskUsage():
            return f"{event.task} used {event.input_tokens + event.output_tokens:,} tokens"
        case ev.TaskBlocked():
            return f"{event.task} blocked: {event.cause}"
        case ev.TaskReset():
            return f"{event.task} pending again" + (f": {event.reason}" if event.reason else "")
        case ev.TaskMerged():
            return f"{event.task} merged" + (f" ({event.commit[:7]})" if event.commit else "")
        case ev.MergeConflict():
            return f"{event.task} conflicts: {', '.join(event.files)}"
        case ev.TaskTakenOver():
            return f"{event.task} taken over by hand"
        case ev.FixRoundStarted():
            return f"fix round {event.round} from {event.stage.title}: {', '.join(event.tasks)}"
        case ev.RunPaused():
            return f"paused by {event.by}"
        case ev.RunResumed():
            return f"resumed by {event.by}"
        case ev.RunFinished():
            return f"run {event.outcome}" + (f": {event.reason}" if event.reason else "")
        case ev.Notice():
            return f"{event.level}: {event.text}"
        case ev.CommandApplied():
            refused = "" if event.ok else f" refused: {event.message}"
            return f"command {event.action}{refused}"
        case ev.PermissionAsked():
            return f"{event.task} asks: {event.tool} {event.summary}".rstrip()
        case ev.PermissionAnswered():
            return f"{event.request_id}: {event.decision}" + (f" by {event.by}" if event.by else "")
        case ev.PermissionWithdrawn():
            return f"{event.request_id} withdrawn"
        case ev.AgentTold():
            return f"{event.action} {event.task}"
    return getattr(event, "kind", type(event).__name__).replace("_", " ")


def is_milestone(event: ev.EventBase) -> bool:
    """Worth a jump: a stage starting, a gate opening, a stage or task failing, a fix
    round, the run starting or ending. (A stage's end and its gate's decision follow its
    start or its gate closely: one stop each would make a jump a step.)"""
    match event:
        case ev.RunStarted() | ev.RunFinished() | ev.StageStarted() | ev.GateOpened():
            return True
        case ev.FixRoundStarted():
            return True
        case ev.StageFinished():
            return event.status == "failed"
        case ev.TaskFinished():
            return event.status in ("failed", "conflict")
    return False


@dataclass
class Timeline:
    """The persisted events of one run, and the state at any position 0…len(events).

    Not frozen: it caches the checkpoints and the last position it folded to. Build it
    once per run; `state_at` is cheap for neighbouring positions."""

    events: Sequence[ev.EventBase]
    checkpoints: list[RunState] = field(default_factory=list)
    milestones: tuple[int, ...] = ()
    last: tuple[int, RunState] | None = None

    def __post_init__(self) -> None:
        self.events = tuple(e for e in self.events if e.persisted)
        state = RunState()
        self.checkpoints = [state]
        for number, event in enumerate(self.events, start=1):
            state = apply(state, event)
            if number % CHECKPOINT == 0:
                self.checkpoints.append(state)
        self.last = (len(self.events), state)
        # A milestone's position is the state just after it.
        self.milestones = tuple(
            n for n, event in enumerate(self.events, start=1) if is_milestone(event)
        )

    @property
    def end(self) -> int:
        return len(self.events)

    def clamp(self, position: int) -> int:
        return max(0, min(position, self.end))

    def state_at(self, position: int) -> RunState:
        """The state after the first `position` events."""
        position = self.clamp(position)
        if self.last is not None and self.last[0] == position:
            return self.last[1]
        if self.last is not None and 0 <= position - self.last[0] <= CHECKPOINT:
            start, state = self.last
        else:
            start = (position // CHECKPOINT) * CHECKPOINT
            state = self.checkpoints[position // CHECKPOINT]
        for event in self.events[start:position]:
            state = apply(state, event)
        self.last = (position, state)
        return state

    def event_at(self, position: int) -> ev.EventBase | None:
        """The event that position `position` comes just after (None at 0)."""
        position = self.clamp(position)
        return self.events[position - 1] if position else None

    def time_at(self, position: int) -> float:
        """When the run was at `position`: its event's time (the first event's at 0)."""
        event = self.event_at(position) or (self.events[0] if self.events else None)
        return event.at if event is not None else 0.0

    def next_milestone(self, position: int, step: int) -> int:
        """The next milestone after (step 1) or before (step -1) `position`, else the end
        (or the start)."""
        if step > 0:
            return next((m for m in self.milestones if m > position), self.end)
        return next((m for m in reversed(self.milestones) if m < position), 0)

    def position_at_time(self, at: float) -> int:
        """The last position whose event happened at or before `at`."""
        position = 0
        for number, event in enumerate(self.events, start=1):
            if event.at > at:
                break
            position = number
        return position

    def plan_events_until(self, position: int) -> list[ev.PlanFrozen | ev.PlanReloaded]:
        """The plan's freezes and reloads among the first `position` events, in order."""
        return [
            e
            for e in self.events[: self.clamp(position)]
            if isinstance(e, ev.PlanFrozen | ev.PlanReloaded)
        ]
