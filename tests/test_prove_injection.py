"""Prove it: hostile text in a plan, in reject feedback and in agent profiles never runs
anything and never reaches outside the workspace. Canary files would show it if it did."""

from __future__ import annotations

import subprocess
from pathlib import Path

from engine_support import Background, Recorder, engine_for

from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import Config, config_from_dict
from orchestrator_tui.core.models import STAGES, StageName, TaskStatus
from orchestrator_tui.core.plan import PlanError, parse_plan

FAKE_CLAUDE = Path(__file__).parent / "fakes" / "bin" / "claude"


def hostile(canary: Path, name: str) -> list[str]:
    """Ways a shell would be tricked into creating canary/<name>-<n>."""
    target = canary / name
    return [
        f"$(touch {target}-1)",
        f"`touch {target}-2`",
        f"; touch {target}-3",
        f"&& touch {target}-4",
        f"\ntouch {target}-5\n",
        f"| touch {target}-6",
    ]


def hostile_plan(canary: Path) -> str:
    title = " ".join(hostile(canary, "title")).replace("\n", " ")
    description = "\n".join(hostile(canary, "desc"))
    return f"""# Plan: {title}

## T1: --help {title}
depends: none
files: ../outside.py, /etc/passwd, src/$(touch {canary}/files).py

-rf {description}

## T2: -rf /
depends: T1
run: echo $(touch {canary}/run-1) ; touch {canary}/run-2 && touch {canary}/run-3 `touch {canary}/4`
agent: sh

--version
"""


def config() -> Config:
    return config_from_dict({
        "agents": {
            "default": "claude",
            "claude": {"backend": "claude", "executable": str(FAKE_CLAUDE)},
            "sh": {"backend": "shell"},
        },
        "run": {"isolation": "worktree", "retry_backoff": 0.05, "retries": 0},
    })  # fmt: skip


def git_repo(path: Path) -> None:
    path.mkdir(parents=True)
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", *args], cwd=path, check=True, timeout=30,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
                            "PATH": "/usr/bin:/bin"})  # fmt: skip


def test_hostile_plan_and_feedback_run_nothing(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.mkdir()
    workspace = tmp_path / "ws"
    git_repo(workspace)
    (workspace / "PLAN.md").write_text(hostile_plan(canary))
    plan = parse_plan(workspace / "PLAN.md")
    assert plan.task("T1").title.startswith("--help $(touch")
    recorder = Recorder()
    approve = frozenset(STAGES) - {StageName.IMPLEMENT}
    engine = engine_for(workspace, config(), recorder, approve=approve)
    passwd = Path("/etc/passwd").stat().st_mtime
    with Background(engine) as run:
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened) and e.stage == "implement")
        feedback = "\n".join(hostile(canary, "feedback")) + "\nT1 -rf --help"
        engine.submit("reject", feedback=feedback)
        again = recorder.wait_for(lambda e: isinstance(e, ev.StageStarted) and e.attempt == 2)
        recorder.wait_for(lambda e: isinstance(e, ev.GateOpened) and e.seq > again.seq)
        engine.submit("approve")
        run.result(timeout=120)
    assert engine.state.tasks["T1"].status == TaskStatus.DONE
    assert engine.state.tasks["T2"].status == TaskStatus.DONE
    assert sorted(p.name for p in canary.iterdir()) == []  # nothing ran
    assert not (tmp_path / "outside.py").exists()
    assert Path("/etc/passwd").stat().st_mtime == passwd
    log = (engine.files.log("T2")).read_text()
    assert f"$(touch {canary}/run-1)" in log  # echo printed the text: it was an argument
    prompt = engine.files.prompt("T1").read_text()
    assert f"$(touch {canary}/feedback-1)" in prompt  # the feedback reached the agent as text
    worktrees = workspace / ".orchestrator" / "worktrees"
    assert not worktrees.exists() or all(
        p.resolve().is_relative_to(worktrees.resolve()) for p in worktrees.iterdir()
    )


def test_hostile_task_ids_are_plan_errors_not_paths(tmp_path: Path) -> None:
    plan = tmp_path / "PLAN.md"
    for task_id in ("../../etc", "$(touch x)", "a;b", "/abs", "-rf"):
        plan.write_text(f"## {task_id}: title\ndepends: none\n")
        try:
            parsed = parse_plan(plan)
        except PlanError as exc:
            assert "bad task ID" in str(exc) or "not a task heading" in str(exc)
        else:  # only IDs of letters, digits, '-', '_' and '.' parse
            assert all(c.isalnum() or c in "-_." for c in parsed.tasks[0].id)
