"""The commit a verification stage judges.

Test, security, cleanup and review report on the run branch's checkout. Whatever is
uncommitted there (an agent that wrote without committing, a hand edit) would otherwise be
tested but never land: before judging, it becomes a commit of its own on the run branch,
named in the stage's details, and the stage records the sha it judged. When the run works
in the workspace itself (no isolation) the workspace is left alone and the stage says the
tree it judged is HEAD plus uncommitted changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.protocols import StageContext
from .changes import ChangeSet, git

IGNORED = (".orchestrator/",)


@dataclass(frozen=True)
class Judged:
    """The tree a stage judged: `sha` (empty without git), files committed just now, and
    whether uncommitted changes remain in it (only in the workspace itself)."""

    sha: str = ""
    committed: tuple[str, ...] = ()
    dirty: tuple[str, ...] = ()
    problem: str = ""

    @property
    def short(self) -> str:
        return self.sha[:10]

    def line(self) -> str:
        if not self.sha:
            return "not a git checkout: judged the files as they are"
        text = f"judged commit {self.short}"
        if self.committed:
            text += f" (uncommitted changes to {len(self.committed)} files committed first)"
        if self.dirty:
            text += f" plus {len(self.dirty)} uncommitted files in the workspace"
        return text

    def agent_note(self) -> str:
        """How a stage agent's changes were committed, for its stage's report."""
        if not self.committed:
            return ""
        return f" (its changes to {len(self.committed)} files: commit {self.short})"

    def evidence(self) -> dict[str, object]:
        return {
            "commit": self.sha,
            "committed_first": list(self.committed),
            "uncommitted": list(self.dirty),
        }


def status_files(root: Path) -> list[str]:
    result = git(root, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if not result.ok:
        return []
    names = [line[3:].split(" -> ")[-1].strip('"') for line in result.output.splitlines()]
    return [n for n in names if n and not n.startswith(IGNORED)]


def head(root: Path) -> str:
    result = git(root, "rev-parse", "HEAD")
    return result.output.strip() if result.ok else ""


def commit_pending(ctx: StageContext, changes: ChangeSet, agent: str = "") -> Judged:
    """Make the run checkout's tree a commit (see the module docstring); the sha judged.
    `agent` names the stage's agent that made the changes; else they are found ones."""
    root = changes.root
    if not changes.in_git:
        return Judged()
    pending = status_files(root)
    separate = changes.branch and root.resolve() != ctx.workspace.resolve()
    if not pending:
        return Judged(sha=head(root))
    if not separate:
        return Judged(sha=head(root), dirty=tuple(pending))
    subject = (
        f"{ctx.stage.value} agent ({agent}): its changes in the {ctx.stage.value} stage"
        if agent
        else f"orchestrator: uncommitted changes in the run checkout, committed before the "
        f"{ctx.stage.value} stage judged them"
    )
    message = f"{subject}\n\n" + "\n".join(f"- {n}" for n in pending[:50])
    added = git(root, "add", "--all", "--", ".", ":(exclude).orchestrator")
    done = added.ok and git(
        root,
        "-c",
        "user.name=orchestrator-tui",
        "-c",
        "user.email=orchestrator-tui@localhost",
        "-c",
        "commit.gpgSign=false",
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
    )
    if not done or not done.ok:
        why = (added.error if not added.ok else done.error if done else "") or "git failed"
        return Judged(sha=head(root), dirty=tuple(pending), problem=f"could not commit: {why}")
    if not agent:
        ctx.notice(
            "warning",
            f"{ctx.stage.value}: {len(pending)} uncommitted files in {root} were committed "
            f"on {changes.branch} before judging them",
        )
    return Judged(sha=head(root), committed=tuple(pending))


def commit_agent_work(ctx: StageContext, profile: str) -> Judged:
    """After a stage's own agent ran in the run checkout: what it changed becomes a commit
    of its own on the run branch ("review agent (claude): …"), like a task's work. In the
    workspace itself (no isolation) nothing is committed."""
    from .changes import find_changes

    return commit_pending(ctx, find_changes(ctx), profile)


def judged_changes(ctx: StageContext) -> tuple[ChangeSet, Judged]:
    """The run's changes as committed, and the commit judged (uncommitted work committed
    first, and the changes read again so that they include it)."""
    from .changes import find_changes

    changes = find_changes(ctx)
    judged = commit_pending(ctx, changes)
    if judged.committed:
        changes = find_changes(ctx)
    return changes, judged
