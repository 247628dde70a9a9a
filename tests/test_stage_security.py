"""The security stage: bandit and detect-secrets on what the run changed, SARIF, blockers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from stage_support import (
    FakeAgent,
    context,
    done_task,
    executable,
    git_repo,
    make_config,
    write_files,
)

from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.stages.security import SecurityRunner, installed_scanners

START = {"app/__init__.py": "", "app/main.py": "print('hi')\n", "README.md": "# app\n"}
RISKY = (
    "import subprocess\n\n"
    "CACHE = '/tmp/app-cache'\n\n\n"
    "def run(command):\n"
    "    return subprocess.run(command, shell=True)\n"
)
AWS_KEY = "aws_key = AKIAIOSFODNN7EXAMPLE\n"


def test_findings_of_both_scanners_go_to_sarif_and_block_auto_approve(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/jobs.py": RISKY, "deploy/settings.ini": AWS_KEY})
    write_files(workspace, {"tests/test_jobs.py": "def test_x():\n    assert 1\n"})
    ctx, _ = context(workspace, StageName.SECURITY)
    result = SecurityRunner().run(ctx)
    assert result.ok, result.summary
    found = {(f["tool"], f["rule"], f["severity"], f["file"]) for f in result.evidence["findings"]}
    assert ("bandit", "B602", "high", "app/jobs.py") in found
    assert ("bandit", "B108", "medium", "app/jobs.py") in found
    assert ("detect-secrets", "AWS Access Key", "high", "deploy/settings.ini") in found
    assert not any(f[1] == "B101" for f in found)  # asserts in tests are the point
    assert result.evidence["counts"]["high"] == 2
    assert result.blockers == ("2 new high-severity findings",)
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(result.evidence)
    assert "| high | bandit | B602 | `app/jobs.py:7` |" in result.details
    sarif = json.loads((ctx.run_dir / "security.sarif").read_text())
    assert sarif["version"] == "2.1.0" and "sarif-2.1.0" in sarif["$schema"]
    by_tool = {run["tool"]["driver"]["name"]: run for run in sarif["runs"]}
    assert set(by_tool) == {"bandit", "detect-secrets"}
    result_b602 = next(r for r in by_tool["bandit"]["results"] if r["ruleId"] == "B602")
    assert result_b602["level"] == "error"
    location = result_b602["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "app/jobs.py"
    assert location["region"]["startLine"] == 7
    assert result_b602["message"]["text"]
    assert {"id": "B602"} in by_tool["bandit"]["tool"]["driver"]["rules"]


def test_allow_high_lets_high_findings_through(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/jobs.py": RISKY})
    config = make_config(stages={"security": {"allow_high": True}})
    ctx, _ = context(workspace, StageName.SECURITY, config=config)
    result = SecurityRunner().run(ctx)
    assert result.ok and result.blockers == ()
    assert "allowed by the config" in result.details


def test_no_changes_means_nothing_to_scan(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    ctx, _ = context(workspace, StageName.SECURITY)
    result = SecurityRunner(scanners={"bandit": None, "detect-secrets": None}).run(ctx)
    assert result.ok
    assert result.summary == "nothing to scan: the run changed no files"
    assert json.loads((ctx.run_dir / "security.sarif").read_text())["runs"] == []


def test_missing_scanners_are_skipped_and_said_so(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/jobs.py": RISKY})
    ctx, _ = context(workspace, StageName.SECURITY)
    result = SecurityRunner(scanners={"bandit": None, "detect-secrets": None}).run(ctx)
    assert result.ok
    assert "bandit not installed — skipped" in result.summary
    assert "detect-secrets not installed — skipped" in result.summary
    assert result.evidence["counts"] == {"high": 0, "medium": 0, "low": 0}


def test_a_scanner_printing_garbage_fails_the_stage_and_keeps_other_findings(
    tmp_path: Path,
) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/jobs.py": RISKY, "keys.txt": AWS_KEY})
    garbage = executable(tmp_path / "bandit", "#!/bin/sh\necho 'Traceback: oops'\nexit 1\n")
    scanners = {**installed_scanners(), "bandit": [str(garbage)]}
    ctx, _ = context(workspace, StageName.SECURITY)
    result = SecurityRunner(scanners).run(ctx)
    assert not result.ok
    assert "not its JSON report: 'Traceback: oops'" in result.summary
    assert result.evidence["counts"]["high"] == 1  # detect-secrets still ran
    assert "Retry the stage" in result.details


def test_a_hanging_scanner_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/jobs.py": RISKY})
    hang = executable(tmp_path / "hang", "#!/bin/sh\nsleep 30\n")
    config = make_config(stages={"security": {"timeout": 0.5}})
    ctx, _ = context(workspace, StageName.SECURITY, config=config)
    result = SecurityRunner({"bandit": [str(hang)], "detect-secrets": None}).run(ctx)
    assert not result.ok
    assert "bandit timed out after" in result.summary


def test_without_git_it_scans_the_files_the_tasks_reported(tmp_path: Path) -> None:
    write_files(tmp_path, {"jobs.py": RISKY, "old.py": "import pickle\n"})
    ctx, _ = context(tmp_path, StageName.SECURITY, tasks=[done_task("T1", ["jobs.py", "gone.py"])])
    result = SecurityRunner({**installed_scanners(), "detect-secrets": None}).run(ctx)
    assert result.ok
    files = {f["file"] for f in result.evidence["findings"]}
    assert files == {"jobs.py"}  # old.py was not changed by the run
    assert "files the tasks reported (no git repository)" in result.details


def test_a_configured_command_adds_its_sarif_or_its_exit_code(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/new.py": "x = 1\n"})
    sarif = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "semgrep"}},
                "results": [
                    {
                        "ruleId": "py.eval",
                        "level": "error",
                        "message": {"text": "eval of input"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": "app/new.py"},
                                    "region": {"startLine": 1},
                                }
                            }
                        ],
                    }
                ],
            }
        ],
    }
    tool = executable(tmp_path / "scanner", f"#!/bin/sh\necho '{json.dumps(sarif)}'\nexit 1\n")
    config = make_config(stages={"security": {"command": [str(tool), "{files}"]}})
    ctx, _ = context(workspace, StageName.SECURITY, config=config)
    result = SecurityRunner({"bandit": None, "detect-secrets": None}).run(ctx)
    assert result.evidence["findings"][0]["rule"] == "py.eval"
    assert result.evidence["findings"][0]["severity"] == "high"
    assert result.blockers

    plain = executable(tmp_path / "plain", "#!/bin/sh\necho 'found 3 issues' >&2\nexit 3\n")
    config = make_config(stages={"security": {"command": [str(plain)]}})
    ctx, _ = context(workspace, StageName.SECURITY, config=config)
    result = SecurityRunner({"bandit": None, "detect-secrets": None}).run(ctx)
    assert result.ok
    assert result.evidence["findings"][0]["rule"] == "exit 3"
    assert "found 3 issues" in result.evidence["findings"][0]["message"]


def test_a_missing_configured_command_fails_clearly(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/new.py": "x = 1\n"})
    config = make_config(stages={"security": {"command": ["no-such-scanner-xyz"]}})
    ctx, _ = context(workspace, StageName.SECURITY, config=config)
    result = SecurityRunner({"bandit": None, "detect-secrets": None}).run(ctx)
    assert not result.ok
    assert "no-such-scanner-xyz not found" in result.summary


def test_the_security_agent_reviews_the_findings(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", START)
    write_files(workspace, {"app/jobs.py": RISKY})
    agent = FakeAgent([AgentResult(ok=True, final_text="B602: real, fixed.")])
    config = make_config(stages={"security": {"agent": "claude"}})
    ctx, _ = context(workspace, StageName.SECURITY, config=config, run_agent=agent)
    result = SecurityRunner({"bandit": [sys.executable, "-m", "bandit"]}).run(ctx)
    assert result.ok
    assert "B602" in agent.prompts[0] and "shell=True" in agent.prompts[0]  # findings + diff
    assert "B602: real, fixed." in result.details
    assert (ctx.run_dir / "security-review.md").read_text() == "B602: real, fixed."
