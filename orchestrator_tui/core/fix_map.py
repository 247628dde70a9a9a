"""The fix loop's rules: which tasks own a failure, and what a send-back does.

A send-back at the test gate (or the review gate) maps each failure to the task(s) that own
it — by the failing test's file, then the files in its traceback, against what each task
actually changed and then what it declared — and those tasks run again with the failures
in their prompt, in fresh worktrees from the run branch's head; what no task owns becomes a
fix task of its own. Rounds are bounded (`[stages.test] fix_rounds`). Pure functions: the
engine gathers the facts and emits the events these return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import events as ev
from .config import Config
from .decisions import Decision, Reply, refuse
from .models import STAGES, StageName, StageStatus, Task, TaskStatus
from .overlap import normalize_path, patterns_may_meet
from .state import RunState

SEND_BACK_STAGES = (StageName.TEST, StageName.REVIEW)
FIX_TASK_PREFIX = "fix"
MAX_FAILURE_CHARS = 3000
TRACE_FILE = re.compile(
    r"""(?:File\s+"([^"]+)",\s+line\s+\d+)|(?:^|[\s(])((?:[\w.-]+/)*[\w.-]+\.py):\d+""",
    re.MULTILINE,
)


@dataclass(frozen=True)
class Failure:
    name: str
    file: str = ""
    message: str = ""


@dataclass(frozen=True)
class Owner:
    """What decides who owns a failure: a task's actual changes and its declared files."""

    changed: tuple[str, ...] = ()
    declared: tuple[str, ...] = ()


@dataclass
class FixMap:
    owned: dict[str, list[Failure]] = field(default_factory=dict)
    unmapped: list[Failure] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)  # task → how it was matched


def relative(path: str, roots: Sequence[str]) -> str:
    """A traceback path made relative to the checkout it ran in (when it is inside one)."""
    clean = path.replace("\\", "/")
    for root in roots:
        base = root.rstrip("/") + "/"
        if clean.startswith(base):
            return normalize_path(clean[len(base) :])
    return normalize_path(clean)


def traceback_files(text: str, roots: Sequence[str] = ()) -> list[str]:
    """Project files named in a traceback (site-packages and the stdlib left out)."""
    found: list[str] = []
    for match in TRACE_FILE.finditer(text or ""):
        raw = match.group(1) or match.group(2) or ""
        if "site-packages/" in raw or "/lib/python" in raw or raw.startswith("<"):
            continue
        name = relative(raw, roots)
        if name and not name.startswith("/") and name not in found:
            found.append(name)
    return found


def owners_of(files: Sequence[str], owners: Mapping[str, Owner]) -> tuple[list[str], str]:
    """The tasks that changed one of `files`, else that declared one; and which rule."""
    changed = [t for t, o in owners.items() if any(f in o.changed for f in files)]
    if changed:
        return sorted(changed), "changed"
    declared = [
        t
        for t, o in owners.items()
        if any(patterns_may_meet(normalize_path(p), f) for p in o.declared for f in files)
    ]
    return sorted(declared), "declared"


def map_failures(
    failures: Sequence[Failure], owners: Mapping[str, Owner], roots: Sequence[str] = ()
) -> FixMap:
    """Each failure to the tasks that changed its test file or a file in its traceback
    (else that declared one of them); a failure no task owns is left unmapped."""
    result = FixMap()
    for failure in failures:
        files = [normalize_path(failure.file)] if failure.file else []
        files += [f for f in traceback_files(failure.message, roots) if f not in files]
        tasks, rule = owners_of(files, owners) if files else ([], "")
        if not tasks:
            result.unmapped.append(failure)
            continue
        for task in tasks:
            result.owned.setdefault(task, []).append(failure)
            result.why.setdefault(task, f"{rule} {', '.join(files[:3])}")
    return result


def failures_of(
    stage: StageName, evidence: Mapping[str, Any], plan_ids: Sequence[str]
) -> tuple[list[Failure], list[str]]:
    """The failures a stage reported, and tasks it named outright (a review names them)."""
    if stage == StageName.REVIEW:
        send = evidence.get("send_back") or {}
        text = str(send.get("feedback", "")) if isinstance(send, dict) else ""
        named = [t for t in plan_ids if re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", text)]
        return ([Failure("the review", "", text)] if text else []), named
    items = evidence.get("failures") or []
    failures = [
        Failure(
            str(i.get("name", "?")),
            str(i.get("file") or ""),
            "\n\n".join(str(i.get(k) or "") for k in ("message", "trace") if i.get(k)),
        )
        for i in items
        if isinstance(i, dict)
    ]
    return failures, []


def failure_text(failures: Sequence[Failure]) -> str:
    parts = []
    for failure in failures:
        where = f" ({failure.file})" if failure.file else ""
        message = failure.message.strip()[:MAX_FAILURE_CHARS] or "(no message)"
        parts.append(f"### {failure.name}{where}\n```\n{message}\n```")
    return "\n\n".join(parts)


def next_fix_id(plan_ids: Sequence[str], round_number: int) -> str:
    base = f"{FIX_TASK_PREFIX}-{round_number}"
    candidate, n = base, 1
    while candidate in plan_ids:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def seen_items(stage: StageName, evidence: Mapping[str, Any]) -> tuple[str, ...] | None:
    """What a stage's result put before the user that a fix round could add to: security's
    new findings, by tool, rule, file and message (not line: a fix moves lines). None for a
    stage whose results are not compared, whose gate asks again in every round."""
    if stage != StageName.SECURITY or not isinstance(evidence.get("findings"), list):
        return None
    found = {
        "\x1f".join(str(f.get(k, "")) for k in ("tool", "rule", "file", "message"))
        for f in evidence["findings"]
        if isinstance(f, dict)
    }
    return tuple(sorted(found))


def approved_results(state: RunState, sender: StageName) -> dict[str, tuple[str, ...]]:
    """What each stage a fix round reruns showed when it was approved (core/state.py keeps
    it as `approved_seen`, for `unchanged_since_approval`)."""
    first, last = STAGES.index(StageName.IMPLEMENT), STAGES.index(sender)
    seen = {}
    for stage in STAGES[first:last]:
        stage_state = state.stages[stage]
        items = seen_items(stage, stage_state.evidence or {})
        if stage_state.status == StageStatus.APPROVED and items is not None:
            seen[stage.value] = items
    return seen


def unchanged_since_approval(state: RunState, stage: StageName) -> str:
    """Why a gate in a fix round passes without asking (its stage found nothing that was not
    approved before the round), or '' when it must ask."""
    stage_state = state.stages[stage]
    before = stage_state.approved_seen
    if not state.fix_round or stage_state.fix_round != state.fix_round or before is None:
        return ""
    if stage_state.status != StageStatus.DONE:
        return ""
    now = seen_items(stage, stage_state.evidence or {})
    if now is None or set(now) - set(before):
        return ""
    count = f"{len(now)} finding{'s' * (len(now) != 1)}" if now else "no finding"
    return (
        f"nothing new since it was approved before fix round {state.fix_round}: "
        f"{count}, none that was not approved then"
    )


@dataclass(frozen=True)
class SendBackFacts:
    """What a send-back depends on besides the state."""

    stage: StageName
    evidence: Mapping[str, Any]
    plan_ids: tuple[str, ...]
    owners: Mapping[str, Owner]
    max_rounds: int
    user_text: str = ""
    roots: tuple[str, ...] = ()


def send_back(state: RunState, facts: SendBackFacts) -> Decision:
    """The events of one fix round, or a refusal saying why there is none."""
    done_rounds = state.fix_round
    if facts.max_rounds <= 0:
        return refuse("send-back is off (`[stages.test] fix_rounds = 0`)")
    if done_rounds >= facts.max_rounds:
        return refuse(
            f"no fix rounds left ({done_rounds} of {facts.max_rounds} used; "
            "[stages.test] fix_rounds)"
        )
    failures, named = failures_of(facts.stage, facts.evidence, facts.plan_ids)
    if not failures and not facts.user_text:
        return refuse(f"the {facts.stage.value} stage reported no failure to send back")
    mapping = map_failures(failures, facts.owners, facts.roots)
    for task in named:
        mapping.owned.setdefault(task, list(failures))
        mapping.why.setdefault(task, "named in the review")
    if named:
        mapping.unmapped = []
    round_number = done_rounds + 1
    header = f"Sent back from the {facts.stage.value} stage (fix round {round_number})."
    user = f"\n\n## What the user asks\n{facts.user_text}" if facts.user_text else ""
    texts: dict[str, str] = {}
    for task, owned in sorted(mapping.owned.items()):
        texts[task] = (
            f"{header} You own these failures ({mapping.why[task]}); fix the code so that "
            f"they pass, without weakening the tests.\n\n{failure_text(owned)}{user}"
        )
    fix_task = None
    leftover = mapping.unmapped or ([] if texts else [Failure("the user's request")])
    if leftover:
        fix_id = next_fix_id(facts.plan_ids, round_number)
        description = (
            f"{header} No task of the plan owns these failures: find the cause and fix "
            f"it.\n\n{failure_text(mapping.unmapped)}{user}"
        )
        fix_task = Task(
            id=fix_id,
            title=f"Fix what the {facts.stage.value} stage found",
            description=description,
        )
        texts[fix_id] = description
    tasks = tuple(sorted(mapping.owned))
    resets = [
        ev.TaskReset(task=t, reason=f"sent back from {facts.stage.value} (round {round_number})")
        for t in tasks
        if t in state.tasks and state.tasks[t].status != TaskStatus.PENDING
    ]
    started = ev.FixRoundStarted(
        stage=facts.stage,
        round=round_number,
        tasks=tasks,
        fix_task=fix_task,
        feedback=texts,
        seen=approved_results(state, facts.stage),
    )
    who = ", ".join([*tasks, *([fix_task.id] if fix_task else [])])
    message = f"fix round {round_number}: {who} run again with the failures"
    return Decision((started, *resets), Reply(True, message, gate="send_back"))


def reads_feedback(config: Config, tasks: Iterable[Task | None]) -> bool:
    """Can any of these tasks act on what it is sent back? A shell profile's task runs its
    `run:` line again whatever it is told, and a fix task (None here: no plan entry yet)
    on a shell default has no line at all. An unknown profile counts as able: the round
    says what is wrong with it when it runs."""
    for task in tasks:
        try:
            _name, profile = config.agents.profile(task.agent if task else None)
        except KeyError:
            return True
        if profile.backend != "shell":
            return True
    return False
