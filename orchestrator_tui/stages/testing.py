"""Stage 6, test: run the test suite where the run's merged work is, and read the results.

The command is `[stages.test] command`, else autodetected (pytest, npm test, go test, cargo
test). pytest writes JUnit XML to runs/<id>/junit.xml (a configured command gets the path
through `{junit}`, and a configured pytest gets `--junitxml` added); go and cargo results are
read from their output; anything else counts by exit code. A failure lists each failed test
with its message and the tasks that touched its file; with a test agent configured, the agent
gets the failures, and the suite runs once more after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import fix_map
from ..core.overlap import normalize_path
from ..core.protocols import StageContext, StageResult
from ..infra.fsutil import program_path
from .changes import declares, plan_tasks
from .detect import JUNIT, TestCommand, detect_test_command, project_python
from .pyenv import ImportPlan, import_plan, outside, probe, where_from
from .results import ResultsError, TestResults, parse_cargo, parse_go_json, parse_junit
from .snapshot import commit_agent_work, judged_changes
from .stage_agent import agent_failure, run_stage_agent, stage_agent_profile, stage_prompt
from .tools import ToolRun, run_tool

PYTEST_NO_TESTS = 5
TEST_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}


def configured_command(argv: list[str]) -> TestCommand:
    """A configured command; pytest gets a JUnit report even when not asked for one."""
    joined = " ".join(argv)
    if JUNIT in joined:
        return TestCommand("configured", tuple(argv), "junit", "[stages.test] command")
    if any(part.endswith("pytest") for part in argv):
        return TestCommand(
            "pytest", (*argv, f"--junitxml={JUNIT}"), "junit", "[stages.test] command"
        )
    if argv[:2] == ["go", "test"] and "-json" in argv:
        return TestCommand("go", tuple(argv), "go-json", "[stages.test] command")
    if argv[:2] == ["cargo", "test"]:
        return TestCommand("cargo", tuple(argv), "cargo", "[stages.test] command")
    return TestCommand("configured", tuple(argv), "exit", "[stages.test] command")


@dataclass
class Outcome:
    """One run of the suite: the tool run, and its results when they could be read."""

    run: ToolRun
    results: TestResults | None
    problem: str = ""


def run_suite(
    ctx: StageContext, command: TestCommand, root: Path, junit: Path, env: dict[str, str]
) -> Outcome:
    junit.unlink(missing_ok=True)
    argv = [part.replace(JUNIT, str(junit)) for part in command.argv]
    if command.framework == "pytest" and "-p" not in argv:
        argv += ["-p", "no:cacheprovider"]
    timeout = ctx.config.stage(ctx.stage).timeout
    run = run_tool(command.framework, argv, root, timeout, ctx.cancel, env={**TEST_ENV, **env})
    if not run.started:
        return Outcome(run, None, run.problem)
    if run.timed_out:
        return Outcome(
            run,
            None,
            f"the tests hung: stopped after {timeout:g} s ([stages.test] timeout); "
            "look for a test waiting on input, the network or a lock",
        )
    if not run.finished:
        return Outcome(run, None, run.problem)
    try:
        if command.report == "junit":
            if command.framework == "pytest" and run.exit_code == PYTEST_NO_TESTS:
                return Outcome(run, TestResults())
            results = parse_junit(junit, root)
        elif command.report == "go-json":
            results = parse_go_json(run.output)
        elif command.report == "cargo":
            results = parse_cargo(run.output + "\n" + run.errors)
        else:
            results = None
    except ResultsError as exc:
        if run.exit_code == 0:
            return Outcome(run, None)
        return Outcome(run, None, f"{run.problem} ({exc})")
    if results is not None and results.green and run.exit_code != 0:
        return Outcome(run, results, f"{run.problem}, yet no test failed: see the output")
    return Outcome(run, results)


def suspects(ctx: StageContext, files: set[str]) -> dict[str, list[str]]:
    """Task ID → the failing test files it changed (or declared)."""
    found: dict[str, list[str]] = {}
    for task in plan_tasks(ctx.state):
        touched = {normalize_path(f) for f in task.changed_files}
        for file in sorted(files):
            if file in touched or declares(task.files, file):
                found.setdefault(task.id, []).append(file)
    return found


def interpreter(command: TestCommand, root: Path, workspace: Path) -> str:
    """The Python the test command runs (its argv[0] for `python -m pytest`)."""
    argv = command.argv
    if len(argv) >= 3 and argv[1] == "-m" and "python" in Path(argv[0]).name:
        return argv[0]
    return project_python(root, workspace)


def import_setup(ctx: StageContext, command: TestCommand, root: Path) -> ImportPlan:
    """For a workspace installed editable in its environment: the run checkout's import
    roots first on PYTHONPATH, and where each of its packages is then imported from."""
    python = interpreter(command, root, ctx.workspace)
    plan = import_plan(probe(python, root), ctx.workspace, root)
    return plan


class TestRunner:
    """The built-in test stage. `use_agent=False` runs the suite only (the complete stage's
    run at the run branch's head, stages/retest.py)."""

    __test__ = False

    def __init__(self, use_agent: bool = True) -> None:
        self.use_agent = use_agent

    def run(self, ctx: StageContext) -> StageResult:
        changes, judged = judged_changes(ctx)
        root = changes.root
        if judged.problem:
            return StageResult(
                ok=False,
                summary=f"refused: the run checkout has uncommitted changes ({judged.problem})",
                details=f"`{root}` has uncommitted changes that could not be committed: "
                f"{', '.join(judged.dirty[:20])}. Tests on them would not be tests of what "
                "lands. Commit or remove them, then retry.",
                evidence={"ran": False, "reason": judged.problem, **judged.evidence()},
            )
        configured = ctx.config.stage(ctx.stage).command
        command = (
            configured_command([program_path(configured[0], root, ctx.workspace), *configured[1:]])
            if configured
            else detect_test_command(root, ctx.workspace)
        )
        if command is None:
            return StageResult(
                ok=True,
                summary="no tests: no test framework found (set [stages.test] command)",
                details=f"Looked in `{root}` for pytest, package.json's test script, go.mod "
                "and Cargo.toml. Set `[stages.test] command` in .orchestrator/config.toml to "
                "run another test command.",
                evidence={"ran": False, "reason": "no test framework found"},
            )
        imports = import_setup(ctx, command, root)
        env = imports.env()
        origins = where_from(
            interpreter(command, root, ctx.workspace), imports.packages, root, {**TEST_ENV, **env}
        )
        wrong = outside(origins, root) if root.resolve() != ctx.workspace.resolve() else {}
        if wrong:
            listed = "; ".join(f"`{name}` from {origin}" for name, origin in wrong.items())
            return StageResult(
                ok=False,
                summary=f"refused: the tests would not import the run's code ({listed})",
                details=f"Run from `{root}`, the project's environment imports {listed}, "
                "not the run branch's checkout, so its results would not be about the run. "
                "Set `[stages.test] command` to one that imports the checkout's code.",
                evidence={"ran": False, "reason": "imports outside the run", "imports": origins},
            )
        junit = ctx.run_dir / "junit.xml"
        outcome = run_suite(ctx, command, root, junit, env)
        notes: list[str] = [judged.line()]
        if imports.roots:
            notes.append(
                f"editable install ({imports.layout} layout): put "
                f"{', '.join(f'`{root}`' for root in imports.roots)} "
                "first on PYTHONPATH; " + ", ".join(f"`{n}` from `{o}`" for n, o in origins.items())
            )
        profile = stage_agent_profile(ctx) if self.use_agent else ""
        if profile and outcome.results is not None and not outcome.results.green:
            agent_ok, note = self.agent_fix(ctx, profile, outcome.results)
            notes.append(note)
            if agent_ok:
                changes, judged = judged_changes(ctx)
                notes.append(judged.line())
                outcome = run_suite(ctx, command, root, junit, env)
        result = self.result(ctx, command, root, junit, outcome, notes)
        result.evidence.update(judged.evidence())
        result.evidence["imports"] = origins
        if imports.roots:
            result.evidence["pythonpath"] = imports.roots
        return result

    def agent_fix(self, ctx: StageContext, profile: str, results: TestResults) -> tuple[bool, str]:
        failures = "\n\n".join(f"### {f.name}\n{f.message}" for f in results.failures)
        prompt = stage_prompt(ctx, [("Test results", f"{results.line()}\n\n{failures}")])
        result = run_stage_agent(ctx, profile, prompt)
        if not result.ok:
            return False, agent_failure(profile, result)
        committed = commit_agent_work(ctx, profile)
        if committed.problem:
            return False, f"{profile}'s changes {committed.problem}"
        note = f"{profile} worked on the failures{committed.agent_note()}"
        return True, f"{note}; the suite ran again."

    def result(
        self,
        ctx: StageContext,
        command: TestCommand,
        root: Path,
        junit: Path,
        outcome: Outcome,
        notes: list[str],
    ) -> StageResult:
        run, results = outcome.run, outcome.results
        evidence: dict[str, Any] = {
            "ran": True,
            "command": command.display(),
            "framework": command.framework,
            "cwd": str(root),
            "exit_code": run.exit_code,
            "seconds": round(run.duration, 2),
        }
        if junit.is_file():
            evidence["junit"] = str(junit)
        lines = [
            f"Ran `{command.display()}` in `{root}` ({command.reason}) in {run.duration:.1f} s."
        ]
        lines += [f"- {note}" for note in notes]
        if results is not None:
            evidence.update(results.counts())
            evidence["failures"] = [f.as_dict() for f in results.failures[:50]]
            evidence["skip_reasons"] = [
                {"reason": reason, "count": count}
                for reason, count in results.skip_reasons.most_common(50)
            ]
        if outcome.problem:
            lines += ["", f"**{outcome.problem}**", "", "```", run.tail(30), "```"]
            lines += ["", retry_advice(ctx, {}, failures=False)]
            evidence["problem"] = outcome.problem
            summary = f"tests did not run through: {outcome.problem}"
            if results is not None:
                summary = f"{results.line()}; {outcome.problem}"
            return StageResult(False, summary, "\n".join(lines), evidence)
        if results is None:
            summary = f"tests passed (exit 0; {command.framework} gives no counts)"
            return StageResult(True, summary, "\n".join(lines), evidence)
        if results.green:
            summary = f"{results.line()}" if results.total else "no tests were collected"
            lines += ["", f"**{summary}**", *results.skipped_lines()]
            return StageResult(True, summary, "\n".join(lines), evidence)
        failing_files = {f.file for f in results.failures if f.file}
        blame = suspects(ctx, failing_files)
        evidence["send_back"] = {
            "tasks": sorted(blame),
            "feedback": feedback_text(results, blame),
        }
        lines += ["", f"**{results.line()}**", ""]
        for failure in results.failures:
            where = f" (`{failure.file}`)" if failure.file else ""
            lines += [f"- **{failure.name}**{where} — {failure.kind}:", "", indent(failure.message)]
        lines += [*results.skipped_lines(), "", retry_advice(ctx, blame)]
        return StageResult(
            ok=False,
            summary=f"{results.line()}",
            details="\n".join(lines),
            evidence=evidence,
        )


def indent(text: str) -> str:
    return "\n".join("    " + line for line in (text or "(no message)").splitlines()[:20])


def feedback_text(results: TestResults, blame: dict[str, list[str]]) -> str:
    tasks = ", ".join(sorted(blame)) or "the tasks that touched these tests"
    failures = "; ".join(
        f"{f.name}: {f.message.splitlines()[0][:200]}" for f in results.failures[:10] if f.message
    )
    return f"{tasks}: the test stage failed ({results.line()}). Fix: {failures or 'see junit.xml'}"


def retry_advice(ctx: StageContext, blame: dict[str, list[str]], failures: bool = True) -> str:
    """What the person can do at the failed gate, as it is: a reject sends the failures back
    only while fix rounds are left, when there are failures, and when a task can read them."""
    rounds = ctx.config.stage(ctx.stage).fix_rounds
    used = ctx.state.fix_round
    tasks = ctx.plan.tasks if ctx.plan is not None else ()
    yourself = "fix the cause yourself and **retry**, or **skip**"
    if used >= rounds:  # a reject cannot send back any more: say so, not what it cannot do
        spent = f"all {rounds} used" if rounds else "`fix_rounds = 0`"
        why = f"no fix rounds left ({spent}; `[stages.test] fix_rounds`, `--fix-rounds N`)"
    elif tasks and not fix_map.reads_feedback(ctx.config, tasks):
        why = "no send-back: every task is a shell `run:` line, which runs the same again"
    elif not failures:
        why = (
            "the suite did not run through, so no failure can be sent back (a **reject** with "
            "a text makes a fix task of it)"
        )
    else:
        why = ""
    if why:
        what_now = f"**What now:** {why}: {yourself}."
    else:
        what_now = (
            "**What now:** **reject** to send the failures back: the tasks that own them "
            "rerun with the failure output in their prompt (what no task owns becomes a fix "
            f"task), then the tests run again ({rounds - used} of {rounds} fix rounds left, "
            f"`[stages.test] fix_rounds`); or {yourself}."
        )
    lines = [what_now]
    if blame:
        who = "; ".join(f"{task} ({', '.join(files)})" for task, files in sorted(blame.items()))
        lines.append(f"Tasks that touched the failing tests: {who}.")
    return "\n\n".join(lines)
