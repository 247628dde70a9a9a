"""What the stage tests share: a StageContext for a workspace, real git repos, a fake agent."""

from __future__ import annotations

import os
import stat
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator_tui.core.config import Config, config_from_dict
from orchestrator_tui.core.models import Plan, StageName, StageStatus, TaskStatus
from orchestrator_tui.core.protocols import AgentResult, StageContext
from orchestrator_tui.core.state import RunState, TaskState, update_stage
from orchestrator_tui.infra.workspace import git_env

RUN_ID = "20250101-000000-test"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "commit.gpgSign=false", *args],
        cwd=cwd,
        env=git_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def git_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository at `root` with `files` in one commit on branch main."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "--quiet")
    git(root, "symbolic-ref", "HEAD", "refs/heads/main")
    write_files(root, files)
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "start")
    return root


def executable(path: Path, text: str) -> Path:
    """A script file that can be run (for fake tools)."""
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@dataclass
class FakeAgent:
    """Stands in for ctx.run_agent: records prompts, answers from a list of results, and may
    write files into the workspace before answering (as a real agent would)."""

    results: list[AgentResult]
    writes: list[dict[str, str]] = field(default_factory=list)
    root: Path | None = None
    prompts: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)

    def __call__(self, prompt: str, profile: str) -> AgentResult:
        self.prompts.append(prompt)
        self.profiles.append(profile)
        turn = len(self.prompts) - 1
        if self.root is not None and turn < len(self.writes):
            write_files(self.root, self.writes[turn])
        return self.results[min(turn, len(self.results) - 1)]


def no_agent(prompt: str, profile: str) -> AgentResult:
    raise AssertionError("this stage must not run an agent here")


def make_config(**sections: Any) -> Config:
    return config_from_dict(sections)


def context(
    workspace: Path,
    stage: StageName,
    *,
    config: Config | None = None,
    tasks: Iterable[TaskState] = (),
    evidence: dict[StageName, dict[str, Any]] | None = None,
    statuses: dict[StageName, StageStatus] | None = None,
    run_agent: Callable[[str, str], AgentResult] = no_agent,
    goal: str = "",
    plan: Plan | None = None,
    feedback: str = "",
    run_dir: Path | None = None,
    cancel: threading.Event | None = None,
) -> tuple[StageContext, list[tuple[str, str]]]:
    """A StageContext as the engine makes one, and the list its notices go to."""
    state = RunState(
        run_id=RUN_ID,
        workspace=str(workspace),
        started_at=1.0,
        # as the fold does: a stage's own agent (`review-agent`, …) is kept apart from tasks
        tasks={t.id: t for t in tasks if not t.id.endswith("-agent")},
        stage_agents={t.id: t for t in tasks if t.id.endswith("-agent")},
    )
    for name, value in (evidence or {}).items():
        state = update_stage(state, name, evidence=value, status=StageStatus.APPROVED)
    for name, status in (statuses or {}).items():
        state = update_stage(state, name, status=status)
    run_dir = run_dir or workspace / ".orchestrator" / "runs" / RUN_ID
    run_dir.mkdir(parents=True, exist_ok=True)
    notices: list[tuple[str, str]] = []
    ctx = StageContext(
        stage=stage,
        run_id=RUN_ID,
        workspace=workspace,
        run_dir=run_dir,
        config=config or Config(),
        attempt=1,
        feedback=feedback,
        instructions=f"instructions of {stage.value}",
        goal=goal,
        plan=plan,
        state=state,
        cancel=cancel or threading.Event(),
        notice=lambda level, text: notices.append((level, text)),
        run_agent=run_agent,
    )
    return ctx, notices


def done_task(task_id: str, files: Iterable[str] = (), **changes: Any) -> TaskState:
    values: dict[str, Any] = {
        "id": task_id,
        "title": f"task {task_id}",
        "status": TaskStatus.DONE,
        "attempt": 1,
        "merged": True,
        "changed_files": tuple(files),
        "agent": "simulated",
    }
    values.update(changes)
    return TaskState(**values)


def path_without(*names: str) -> str:
    """PATH with the directories that hold any of `names` left out."""
    keep = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not any((Path(folder) / name).exists() for name in names):
            keep.append(folder)
    return os.pathsep.join(keep)
