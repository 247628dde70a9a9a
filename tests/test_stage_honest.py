"""Issue 13: verdicts from any backend, no-git changes, honest reject text, CLAUDE.md."""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from agent_support import RecordingEvents, make_job
from engine_support import Background, Recorder, engine_for
from stage_support import context, done_task, executable, git, git_repo, make_config

from orchestrator_tui.agents.command import CommandBackend
from orchestrator_tui.core import events as ev
from orchestrator_tui.core.config import AgentProfile, Config
from orchestrator_tui.core.decisions import arrive_at_gate
from orchestrator_tui.core.models import StageName, Task
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.core.reject import reject_hint
from orchestrator_tui.core.state import RunState, apply
from orchestrator_tui.core.system import load_system, parse_system
from orchestrator_tui.engine.reload import reload_system
from orchestrator_tui.infra.workspace import RUN_WORKTREE, GitWorktrees
from orchestrator_tui.stages.review import ReviewRunner
from orchestrator_tui.ui.evidence import gate_markdown


def command_agent(tmp_path: Path, script: Path):
    """ctx.run_agent backed by the real command backend running `script`."""

    def run(prompt: str, profile: str) -> AgentResult:
        agent = AgentProfile(backend="command", command=[str(script), "{prompt_file}"])
        job = make_job(tmp_path, prompt=prompt, profile=agent)
        backend = CommandBackend("reviewer", agent)
        return backend.run(job, RecordingEvents(), threading.Event())

    return run


def test_a_command_backend_review_agent_gives_a_verdict(tmp_path: Path) -> None:
    """Observation 7: its stdout ended with `Verdict: approve`, and the gate said the review
    ends without a verdict line."""
    workspace = git_repo(tmp_path / "ws", {"app.py": "x = 1\n"})
    script = executable(
        tmp_path / "reviewer.sh",
        "#!/bin/sh\necho 'The change is small and tested.'\necho\necho 'Verdict: approve'\n",
    )
    config_agent = {"stages": {"review": {"agent": "reviewer"}}}
    ctx, _ = context(
        workspace,
        StageName.REVIEW,
        config=make_config(**config_agent),
        tasks=[done_task("T1", ["app.py"])],
        run_agent=command_agent(tmp_path, script),
    )
    result = ReviewRunner().run(ctx)
    assert result.ok, result.summary
    assert result.evidence["verdict"] == "approve"
    assert "The change is small and tested." in (ctx.run_dir / "review.md").read_text()


EXAMPLE = Path(__file__).resolve().parents[1] / "CLAUDE.md.example"


def test_every_agent_gets_the_general_sections_and_its_own_within_a_budget() -> None:
    """Observation 10: agents saw only their stage's section; the session rules, error
    handling and the `BLOCKED:` convention never reached them."""
    system = parse_system(EXAMPLE.read_text())
    for stage in StageName:
        text = system.for_agent(stage)
        assert system.instructions(stage) in text
        assert "## Session rules" in text and "## Error handling" in text
        assert "BLOCKED:" in text
        assert len(text) <= 16_000 + 200
    assert "## PLAN.md format" in system.for_agent(StageName.IMPLEMENT)
    assert "## PLAN.md format" not in system.for_agent(StageName.TEST)
    assert "## Review verdict format" in system.for_agent(StageName.REVIEW)
    small = system.for_agent(StageName.REVIEW, budget=3000)
    assert system.instructions(StageName.REVIEW) in small
    assert "Left out for size" in small


def test_the_template_names_the_branches_and_worktrees_the_code_uses(tmp_path: Path) -> None:
    """Observation 10: CLAUDE.md named task branches `orch/<run>/<task>`; they are
    `orch/tasks/<run>/<task>`."""
    text = EXAMPLE.read_text()
    place = GitWorktrees(tmp_path, "R1").place(Task(id="T1", title="t"))
    named = set(re.findall(r"`(orch/[^`]+)`", text))
    assert named, "the template names no branch"
    for pattern in named:
        concrete = pattern.replace("<run-id>", "R1").replace("<task-id>", "T1")
        assert concrete in (place.branch, "orch/R1"), pattern
    for folder in re.findall(r"`(\.orchestrator/worktrees/[^`]+)`", text):
        concrete = folder.replace("<task-id>", "T1")
        assert concrete in (
            f".orchestrator/worktrees/{place.worktree.name}",
            f".orchestrator/worktrees/{RUN_WORKTREE}",  # the stage agents' run checkout
        ), folder


def test_a_broken_stage_heading_is_reported_when_claude_md_is_saved(tmp_path: Path) -> None:
    """Observation 10: a `## Stage N:` heading broken during a run was only warned about at
    the next run."""
    path = tmp_path / "CLAUDE.md"
    path.write_text("# rules\n\n## Stage 6: Test\n\nrun them\n")
    emitted: list[object] = []
    engine = SimpleNamespace(system_path=path, system=load_system(path), emit=emitted.append)
    path.write_text("# rules\n\n## Stage 6 - Test\n\nrun them\n")
    reload_system(engine)  # type: ignore[arg-type]
    warnings = [e.text for e in emitted if isinstance(e, ev.Notice)]
    assert any("Stage 6 - Test" in w and "not a stage heading" in w for w in warnings)


def test_reject_text_says_what_a_rerun_does_with_it() -> None:
    """Observation 9: at a stage without an agent (parallel, test with a command) the dialog
    promised "the rerun gets this text in its prompt" and the same result came back."""
    plain = Config()
    hint = reject_hint(StageName.PARALLEL, plain, has_runner=False)
    assert hint.startswith("Nothing uses this text") and "retry" in hint
    assert reject_hint(StageName.SECURITY, plain, True).startswith("Nothing uses this text")
    with_agent = make_config(stages={"security": {"agent": "claude"}})
    assert "agent (claude)" in reject_hint(StageName.SECURITY, with_agent, True)
    assert "Send back" in reject_hint(StageName.TEST, plain, True)
    assert "rerun with this text" in reject_hint(StageName.REVIEW, plain, True)


def test_the_gate_carries_its_reject_hint_to_the_dialog() -> None:
    state = RunState(run_id="r")
    arrival = arrive_at_gate(state, StageName.PARALLEL, auto=False, reject_hint="nothing")
    for event in arrival.events:
        state = apply(state, event)
    assert state.gate is not None and state.gate.reject_hint == "nothing"


FEEDBACK_AGENT = r"""
import re, sys
from pathlib import Path
prompt = Path(sys.argv[1]).read_text()
extra = "\n# a docstring, as asked\n" if "add a docstring" in prompt else ""
Path("app.py").write_text("x = 2\n" + extra)
print("done")
"""


def test_a_rerun_records_the_feedback_it_addressed_or_that_nothing_used_it(
    tmp_path: Path,
) -> None:
    """What to build 7: the stage's evidence shows the feedback it addressed — and a stage
    without an agent says its rerun did not read the text."""
    plan = "# Plan: X\n\n## T1: Change x\ndepends: none\nfiles: app.py\n"
    workspace = git_repo(tmp_path / "ws", {"app.py": "x = 1\n", "PLAN.md": plan})
    agent = tmp_path / "agent.py"
    agent.write_text(FEEDBACK_AGENT)
    command = [sys.executable, str(agent), "{prompt_file}"]
    config = make_config(
        agents={"default": "fake", "fake": {"backend": "command", "command": command}},
        notify={"bell": False},
    )
    recorder = Recorder()
    waiting = (StageName.PARALLEL, StageName.IMPLEMENT)
    engine = engine_for(
        workspace, config, recorder, approve=frozenset(s for s in StageName if s not in waiting)
    )

    def gate(stage: StageName, count: int) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            opened = [g for g in recorder.of(ev.GateOpened) if g.stage == stage]
            if len(opened) >= count and engine.state.gate is not None:
                return
            time.sleep(0.05)
        raise AssertionError(f"no gate #{count} at {stage}")

    with Background(engine) as run:
        gate(StageName.PARALLEL, 1)
        engine.submit("reject", feedback="wave it differently")
        gate(StageName.PARALLEL, 2)
        parallel = engine.state.stages[StageName.PARALLEL].evidence
        shown = gate_markdown(engine.state, StageName.PARALLEL)
        engine.submit("approve")
        gate(StageName.IMPLEMENT, 1)
        engine.submit("reject", feedback="T1: add a docstring")
        gate(StageName.IMPLEMENT, 2)
        implement = engine.state.stages[StageName.IMPLEMENT].evidence
        addressed = gate_markdown(engine.state, StageName.IMPLEMENT)
        engine.submit("approve")
        run.result(timeout=120)
    assert parallel["feedback_unused"] == "wave it differently"
    assert "nothing in this stage uses it" in shown and "wave it differently" in shown
    assert implement["feedback_addressed"] == "T1: add a docstring"
    assert addressed.count("Feedback this attempt addressed") == 1
    assert "a docstring, as asked" in git(workspace, "show", f"orch/{engine.state.run_id}:app.py")


def test_the_reject_dialog_promises_no_send_back_to_shell_lines() -> None:
    """A plan of shell `run:` lines cannot be sent back to (engine/fix_loop.py refuses
    it): the test gate's reject dialog says so instead of promising a fix round."""
    from orchestrator_tui.core.config import config_from_dict
    from orchestrator_tui.core.models import Plan, Task
    from orchestrator_tui.engine.fix_loop import plan_reads_feedback

    shell = config_from_dict({"agents": {"default": "sh", "sh": {"backend": "shell"}}})
    plan = Plan(title="p", tasks=(Task(id="T1", title="a", run="true"),))
    engine = SimpleNamespace(plan=plan, config=shell)
    reads = plan_reads_feedback(engine)  # type: ignore[arg-type]
    assert not reads
    hint = reject_hint(StageName.TEST, shell, True, 0, reads)
    assert hint.startswith("No send-back: every task is a shell `run:` line")
    assert "Send back" not in hint
    engine.config = config_from_dict({"agents": {"default": "ai", "ai": {"backend": "claude"}}})
    assert plan_reads_feedback(engine)  # type: ignore[arg-type]
    assert plan_reads_feedback(SimpleNamespace(plan=None, config=shell))  # type: ignore[arg-type]
