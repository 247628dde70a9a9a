"""The fault-injection sweep of issue 12: kill the demo's run at a point, maybe plant a git
leftover, resume it, and compare with an uninterrupted run. Shared by
tests/test_crash_sweep.py (a deterministic subset) and bench/crash_sweep.py (every point).

Kill points:
- `event N`: the run SIGKILLs itself right after writing the event with seq N
  (ORCH_KILL_AFTER_EVENT, infra/store.py), for every event of the reference run;
- `git N before|after`: the git wrapper of tests/crash_support.py SIGKILLs the run's
  process group before or after its Nth git command;
- `plant X at event N`: killed at event N, then git's own crash leftover X is put in place
  (MERGE_HEAD, a lock file, a half-created or deleted run checkout) before the resume.

What "identical" means (`compare`): exit 0 after the resume, the same final tree of the
user's `main`, the same task statuses and outcome, each task finished `done` once, every
task's cost the reference's plus only what an attempt the kill interrupted had already
reported (spent for real, and counted once), no process left in the workspace, and a log
that replays cleanly with contiguous seq numbers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crash_support import (
    Result,
    environment,
    git,
    git_calls,
    git_wrapper,
    no_processes_left,
    reset_count,
    result,
    start,
    wait,
)

from orchestrator_tui.commands.demo import prepare_demo
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.models import StageName
from orchestrator_tui.infra.store import RunFiles, latest_run_id, load_run, read_events

SPEED = 20.0
RUN = ["run", "--headless", "--approve", "all"]
RESUME = ["run", "--headless", "--resume", "--approve", "all"]
# the git commands that change something (a kill before one of the others is the same as
# a kill after the command before it)
WRITING_GIT = frozenset(
    {"worktree", "branch", "add", "commit", "merge", "reset", "clean", "checkout", "update-ref"}
)


def make_project(target: Path, tasks: int = 8) -> Path:
    """The demo project (8 tasks), or the first `tasks` of its plan (T1-T3: a retry, an
    untidy file for cleanup, two tasks side by side)."""
    prepare_demo(target, SPEED)
    if tasks < 8:
        plan = (target / "PLAN.md").read_text(encoding="utf-8")
        cut = plan.index(f"## T{tasks + 1}:")
        (target / "PLAN.md").write_text(plan[:cut], encoding="utf-8")
        git(target, "commit", "--quiet", "-am", f"the first {tasks} tasks")
    return target


@dataclass(frozen=True)
class Reference:
    result: Result
    kinds: tuple[str, ...]  # the reference run's events, in order (seq = index + 1)
    git: tuple[str, ...]  # its git subcommands, in order (call N = index N - 1)
    stages: tuple[str, ...] = ()  # the stage of each event ("" for others)

    def seq_of(self, kind: str, nth: int = 1, stage: str = "") -> int:
        """The seq of the nth event of `kind` (of `stage`, for stage events)."""
        seen = 0
        for number, (name, of) in enumerate(zip(self.kinds, self.stages, strict=True), 1):
            if name == kind and (not stage or of == stage):
                seen += 1
                if seen == nth:
                    return number
        raise LookupError(f"no {kind} #{nth} {stage}")

    def git_call(self, subcommand: str, nth: int = 1) -> int:
        """Call number of the nth `subcommand` (negative nth: from the end)."""
        calls = [n for n, sub in enumerate(self.git, 1) if sub == subcommand]
        return calls[nth - 1] if nth > 0 else calls[nth]


def reference(template: Path, root: Path) -> Reference:
    """An uninterrupted run of a copy of `template` (with the git wrapper counting)."""
    ws = copy_project(template, root / "reference")
    folder = root / "reference-git"
    env = environment(**git_wrapper(folder))
    code, err = wait(start([*RUN, "-C", str(ws)], env), timeout=300)
    assert code == 0, err[-3000:]
    events = read_events(RunFiles(ws, latest_run_id(ws) or "").events).events
    kinds = tuple(e.kind for e in events)
    stages = tuple(str(getattr(e, "stage", "")) for e in events)
    return Reference(result(ws), kinds, tuple(git_calls(folder)), stages)


def copy_project(template: Path, target: Path) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target, symlinks=True)
    return target


@dataclass(frozen=True)
class KillPoint:
    name: str
    event: int = 0  # kill after the event with this seq
    delay: float = 0.0  # that many seconds after it (ORCH_KILL_DELAY)
    git_at: int = 0  # or kill at this git call
    git_when: str = "after"
    plant: str = ""  # a leftover of PLANTS, put in place before the resume
    approve: str = "all"  # the killed run's --approve (else it waits at the other gates)


@dataclass
class Outcome:
    point: KillPoint
    differences: list[str] = field(default_factory=list)
    killed: bool = True  # the kill point was reached
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        return not self.differences


def run_case(template: Path, root: Path, point: KillPoint, ref: Reference) -> Outcome:
    """Kill a fresh copy of the project at `point`, plant, resume, compare."""
    started = time.monotonic()
    slug = "".join(c if c.isalnum() else "-" for c in point.name)
    ws = copy_project(template, root / slug)
    outcome = Outcome(point)
    extra: dict[str, str] = {}
    if point.event:
        extra["ORCH_KILL_AFTER_EVENT"] = str(point.event)
        if point.delay:
            extra["ORCH_KILL_DELAY"] = str(point.delay)
    if point.git_at:
        folder = root / f"{slug}-git"
        reset_count(folder)
        extra |= git_wrapper(folder)
        extra |= {"CRASH_GIT_AT": str(point.git_at), "CRASH_GIT_WHEN": point.git_when}
    argv = [*RUN, "-C", str(ws)]
    if point.approve != "all":  # a gate waits for a person when the kill comes (bug L)
        argv = [*argv[:-3], point.approve, "--on-gate", "wait", "-C", str(ws)]
    code, err = wait(start(argv, environment(**extra)), timeout=300)
    if code != -9:
        outcome.killed = False
        if code != 0:
            outcome.differences.append(f"the killed run ended with {code}: {tail(err)}")
    if point.plant:
        try:
            PLANTS[point.plant](ws)
        except Exception as exc:  # nothing to plant into at this point: say so
            outcome.differences.append(f"could not plant {point.plant}: {exc}")
    outcome.differences += resumed_differences(ws, ref)
    shutil.rmtree(ws, ignore_errors=True)
    outcome.seconds = time.monotonic() - started
    return outcome


def resumed_differences(ws: Path, ref: Reference) -> list[str]:
    code, err = wait(start([*RESUME, "-C", str(ws)], environment()), timeout=300)
    if code != 0:
        return [f"the resume ended with {code}: {tail(err)}{why_it_failed(ws)}"]
    differences = []
    got = result(ws)
    expected = ref.result
    for name in ("outcome", "tree", "statuses", "finished"):
        if getattr(got, name) != getattr(expected, name):
            differences.append(f"{name}: {getattr(got, name)!r} != {getattr(expected, name)!r}")
    files = RunFiles(ws, latest_run_id(ws) or "")
    events = read_events(files.events).events
    extra = interrupted_usage(events)
    for (task, cost), (_, want) in zip(got.costs, expected.costs, strict=False):
        if abs(float(cost) - float(want) - extra.get(task, 0.0)) > 1e-6:
            spent = f" + {extra[task]:.4f} interrupted" if task in extra else ""
            differences.append(f"cost of {task}: {cost} != {want}{spent}")
    _, warnings = load_run(files)
    if [e.seq for e in events] != list(range(1, len(events) + 1)):
        differences.append("the log's seq numbers are not contiguous")
    differences += [f"log: {w}" for w in warnings if "torn" not in w]
    left = no_processes_left(ws)
    if left:
        differences.append(f"processes left in the workspace: {left}")
    return differences


def interrupted_usage(events: list[ev.EventBase]) -> dict[str, float]:
    """Cost reported by attempts that a kill interrupted (the task started again without
    a TaskFinished of that attempt): spent, so counted, but not in an uninterrupted run.
    A task finished from git after a kill (bug G) keeps its one attempt's cost."""
    open_cost: dict[str, float] = {}
    spent: dict[str, float] = defaultdict(float)
    for event in events:
        if isinstance(event, ev.TaskStarted):
            spent[event.task] += open_cost.get(event.task, 0.0)
            open_cost[event.task] = 0.0
        elif isinstance(event, ev.TaskUsage) and event.task in open_cost:
            open_cost[event.task] += event.cost_usd
        elif isinstance(event, ev.TaskFinished):
            open_cost.pop(event.task, None)
    return {task: cost for task, cost in spent.items() if cost}


def why_it_failed(ws: Path) -> str:
    """What a failed stage of the resumed run said (its gate text, the tests' failures), so
    that a rare failure in CI can be read from its message: the workspace is deleted."""
    run_id = latest_run_id(ws)
    if not run_id:
        return ""
    state, _ = load_run(RunFiles(ws, run_id))
    failed = [s for s in state.stages.values() if s.status == "failed"]
    details = failed[-1].details if failed else ""
    evidence = state.stages[StageName.TEST].evidence or {}
    failures = [f"{f.get('name')}: {f.get('message')}" for f in evidence.get("failures", [])]
    return f"\n--- failed stage said:\n{details[-2000:]}\n--- test failures: {failures[:3]}"


def tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


# ---- leftovers to plant -----------------------------------------------------------------


def run_id(ws: Path) -> str:
    found = latest_run_id(ws)
    assert found, "no run to plant into"
    return found


def run_git_dir(ws: Path) -> Path:
    return ws / ".git" / "worktrees" / "_run"


def aged(path: Path) -> None:
    """A lock file as a killed git leaves it: empty, a minute old."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    stamp = time.time() - 60
    os.utime(path, (stamp, stamp))


def lock(relative: Callable[[Path], str]) -> Callable[[Path], None]:
    def plant(ws: Path) -> None:
        aged(ws / relative(ws))

    return plant


def merge_head(ws: Path) -> None:
    """A `git merge` killed in the run checkout: MERGE_HEAD names what it merged."""
    folder = run_git_dir(ws)
    assert folder.is_dir(), "no run checkout yet"
    (folder / "MERGE_HEAD").write_text(git(ws, "rev-parse", "main") + "\n")
    (folder / "MERGE_MSG").write_text("Merge (killed)\n")


def half_created_run(ws: Path) -> None:
    """`git worktree add` of the run checkout killed after it set HEAD, before the files
    (bug D)."""
    place = ws / ".orchestrator" / "worktrees" / "_run"
    subprocess.run(["git", "worktree", "remove", "--force", "--force", str(place)], cwd=ws,
                   capture_output=True, timeout=30, check=False)  # fmt: skip
    shutil.rmtree(place, ignore_errors=True)
    git(ws, "worktree", "prune")
    git(ws, "worktree", "add", "--no-checkout", str(place), f"orch/{run_id(ws)}")


def deleted_run(ws: Path) -> None:
    """The run checkout deleted by hand (bug J)."""
    place = ws / ".orchestrator" / "worktrees" / "_run"
    assert place.is_dir(), "no run checkout yet"
    shutil.rmtree(place)


PLANTS: dict[str, Callable[[Path], None]] = {
    "MERGE_HEAD": merge_head,
    "_run/index.lock": lock(lambda ws: ".git/worktrees/_run/index.lock"),
    "_run/HEAD.lock": lock(lambda ws: ".git/worktrees/_run/HEAD.lock"),
    "_run/ORIG_HEAD.lock": lock(lambda ws: ".git/worktrees/_run/ORIG_HEAD.lock"),
    "task ref lock": lock(lambda ws: f".git/refs/heads/orch/tasks/{run_id(ws)}/T2.lock"),
    "run ref lock": lock(lambda ws: f".git/refs/heads/orch/{run_id(ws)}.lock"),
    "packed-refs.lock": lock(lambda ws: ".git/packed-refs.lock"),
    ".git/index.lock": lock(lambda ws: ".git/index.lock"),
    "main.lock": lock(lambda ws: ".git/refs/heads/main.lock"),
    "half-created _run": half_created_run,
    "deleted _run": deleted_run,
}


def every_point(ref: Reference) -> list[KillPoint]:
    """The full sweep: every event boundary, every git command (after each; before each
    one that writes), every leftover planted at three moments."""
    points = [KillPoint(f"event {n} {kind}", event=n) for n, kind in enumerate(ref.kinds, 1)]
    for number, sub in enumerate(ref.git, 1):
        if sub in WRITING_GIT:
            points.append(KillPoint(f"git {number} before {sub}", git_at=number, git_when="before"))
        points.append(KillPoint(f"git {number} after {sub}", git_at=number))
    moments = {
        "first merge": ref.seq_of("task_merged"),
        "implement done": ref.seq_of("stage_finished", stage="implement"),
        "before complete": ref.seq_of("stage_started", stage="complete"),
    }
    for plant in PLANTS:
        for moment, seq in moments.items():
            points.append(KillPoint(f"plant {plant} at {moment}", event=seq, plant=plant))
    return [*points, gate_waiting(ref)]


def gate_waiting(ref: Reference) -> KillPoint:
    """Killed while the parallel gate waits for a person (bug L): the resume's --approve
    all decides it."""
    opened = ref.seq_of("stage_finished", stage="parallel") + 1
    return KillPoint("gate parallel waiting", event=opened, approve="analyze,plan")


def summary(outcomes: list[Outcome]) -> str:
    same = sum(o.identical for o in outcomes)
    lines = [f"{same}/{len(outcomes)} kill points identical"]
    lines += [f"  differs: {o.point.name}: {'; '.join(o.differences)}" for o in outcomes
              if not o.identical]  # fmt: skip
    unreached = [o.point.name for o in outcomes if not o.killed]
    if unreached:
        lines.append(f"  ({len(unreached)} not reached: the run ended before them)")
    kinds = Counter(o.point.name.split()[0] for o in outcomes)
    lines.append("  " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
    return "\n".join(lines)
