"""`orchestrator-tui plan check` and `orchestrator-tui init`, in a real process (never a
traceback, the exit code, stdout and stderr) and in-process for the details."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator_tui.cli import main
from orchestrator_tui.core.config import CONFIG_PATH, load_config
from orchestrator_tui.core.plan import PlanError, parse_plan
from orchestrator_tui.resources import claude_md_example

VALID_PLAN = """\
# Plan: Add user accounts

Free text about the goal.

## T1: User model
depends: none
files: src/models/user.py, tests/test_user.py
estimate: 30m

What to build and how to know it is done.

## T2: REST endpoints
depends: T1
files: src/api/users.py
agent: codex
timeout: 20m

## T3: Docs
files: src/models/user.py
"""

# One broken plan per format, and the lines `plan check` must print for it.
INVALID = {
    "PLAN.md": (
        "# Plan: Broken\n\n## T1: One\ndepends: T2, T9\ntimeout: soon\n\n"
        "## T2: Two\ndepends: T1\ncolour: red\n",
        [
            "{path}:3: T1 depends on unknown task 'T9' (hint: no task has that ID)",
            "{path}:3: dependency cycle: T1 → T2 → T1 (hint: break it by removing one dependency)",
            "{path}:5: timeout: bad duration 'soon' (hint: use forms like 45s, 20m, 1h30m)",
            "{path}:9: unknown key 'colour' (hint: known keys: depends, files, agent, run, "
            "timeout, retries, priority, estimate, status; put a blank line before the "
            "description)",
        ],
    ),
    "plan.toml": (
        '[[task]]\nid = "A"\ntitle = "One"\ndepends = ["B"]\n\n'
        '[[task]]\nid = "B"\ntitle = "Two"\ndepends = ["A"]\nretries = "many"\n',
        [
            "{path}:2: dependency cycle: A → B → A (hint: break it by removing one dependency)",
            "{path}:10: retries: 'many' is not a whole number (hint: a whole number from 0 to 100)",
        ],
    ),
    "tasks.json": (
        '{\n  "master": {\n    "tasks": [\n'
        '      {"id": 1, "title": "One", "dependencies": [3]},\n'
        '      {"id": 2, "title": "Two", "dependencies": [1, 1.5]}\n'
        "    ]\n  }\n}\n",
        [
            "{path}:4: 1 depends on unknown task '3' (hint: no task 3: remove the dependency "
            "or run `task-master fix-dependencies`)",
            "{path}:5: 2 depends on unknown task '1.5' (hint: no subtask 1.5: remove the "
            "dependency or run `task-master fix-dependencies`)",
        ],
    ),
}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator_tui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "120", "NO_COLOR": "1", "LANG": "C.UTF-8"},
    )


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --- plan check, in a real process ------------------------------------------------------------


def test_plan_check_accepts_a_valid_plan(tmp_path: Path) -> None:
    write(tmp_path / "PLAN.md", VALID_PLAN)
    result = run_cli("plan", "check", cwd=tmp_path)  # PLAN.md is the default
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "Add user accounts — 3 tasks" in result.stdout
    assert "2 waves; first to run: T1, T3" in result.stdout
    assert "★ critical path: T1 → T2" in result.stdout
    assert "overlap: T1, T3 may touch the same files" in result.stdout


@pytest.mark.parametrize("name", sorted(INVALID))
def test_plan_check_prints_every_error_on_stderr(tmp_path: Path, name: str) -> None:
    text, expected = INVALID[name]
    plan = write(tmp_path / name, text)
    result = run_cli("plan", "check", str(plan), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [line.format(path=plan) for line in expected]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "{path}:3: NUL byte: this looks like a binary file"),
        (b"# Plan: caf\xe9\n", "{path}:1: not UTF-8 (byte 0xe9) (hint: save as UTF-8)"),
        (b"", "{path}: the plan has no tasks (hint: add `## T1: Title` sections)"),
    ],
    ids=["binary", "latin-1", "empty"],
)
def test_plan_check_gives_one_line_for_unreadable_input(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    plan = write(tmp_path / "PLAN.md", content)
    result = run_cli("plan", "check", str(plan), cwd=tmp_path)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith(expected.format(path=plan))
    assert "Traceback" not in result.stderr


# --- plan check, in-process -------------------------------------------------------------------


def test_plan_check_json_of_a_valid_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write(tmp_path / "PLAN.md", VALID_PLAN)
    assert main(["plan", "check", str(plan), "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert err == ""
    assert {"tasks", "waves", "critical_path", "overlaps", "errors"} <= set(result)
    assert [t["id"] for t in result["tasks"]] == ["T1", "T2", "T3"]
    assert result["tasks"][1]["depends"] == ["T1"]
    assert result["tasks"][1]["timeout"] == 1200.0
    assert result["tasks"][1]["line"] == 12
    assert result["waves"] == [["T1", "T3"], ["T2"]]
    assert result["critical_path"] == ["T1", "T2"]
    assert result["overlaps"] == [["T1", "T3"]]
    assert result["errors"] == []


@pytest.mark.parametrize("name", sorted(INVALID))
def test_plan_check_json_lists_every_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    text, expected = INVALID[name]
    plan = write(tmp_path / name, text)
    assert main(["plan", "check", str(plan), "--json"]) == 1
    out, err = capsys.readouterr()
    result = json.loads(out)
    with pytest.raises(PlanError) as caught:
        parse_plan(plan)
    assert result == {
        "tasks": [],
        "waves": [],
        "critical_path": [],
        "overlaps": [],
        "errors": [
            {"file": str(plan), "line": p.line, "message": p.message, "hint": p.hint}
            for p in caught.value.problems
        ],
    }
    assert len(result["errors"]) == len(expected)
    assert all(e["hint"] for e in result["errors"])
    assert err.splitlines() == [line.format(path=plan) for line in expected]


def test_plan_check_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "PLAN.md"
    assert main(["plan", "check", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{missing}: no such plan file (hint: create it or run `init`)\n"


def test_plan_check_prints_plan_text_as_text_not_markup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = write(
        tmp_path / "PLAN.md",
        "# Plan: [/x] odd\n\n## T1: Fix [/bold] tags\nfiles: src/[ab].py\nagent: [red]\n",
    )
    assert main(["plan", "check", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "[/x] odd" in out
    assert "Fix [/bold] tags" in out
    assert "src/[ab].py" in out
    assert "[red]" in out


# --- init ---------------------------------------------------------------------------------


def test_init_writes_the_three_files_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "new" / "project"  # created
    assert main(["init", str(workspace)]) == 0
    files = [workspace / "CLAUDE.md", workspace / "PLAN.md", workspace / CONFIG_PATH]
    assert capsys.readouterr().out.splitlines() == [f"wrote    {f}" for f in files]
    assert (workspace / "CLAUDE.md").read_text(encoding="utf-8") == claude_md_example()
    plan = parse_plan(workspace / "PLAN.md")
    assert [t.id for t in plan.tasks] == ["T1", "T2"]
    assert load_config(workspace).agents.default == "claude"  # the file loads
    assert main(["plan", "check", str(workspace / "PLAN.md")]) == 0


def test_init_never_overwrites_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    write(tmp_path / "PLAN.md", "# Plan: mine\n\n## M1: Mine\n")
    capsys.readouterr()
    assert main(["init", str(tmp_path)]) == 0
    files = [tmp_path / "CLAUDE.md", tmp_path / "PLAN.md", tmp_path / CONFIG_PATH]
    assert capsys.readouterr().out.splitlines() == [
        f"kept     {f} (exists; --force overwrites it)" for f in files
    ]
    assert (tmp_path / "PLAN.md").read_text(encoding="utf-8") == "# Plan: mine\n\n## M1: Mine\n"
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"replaced {f}" for f in files]
    assert [t.id for t in parse_plan(tmp_path / "PLAN.md").tasks] == ["T1", "T2"]


def test_init_refuses_a_file_as_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = write(tmp_path / "file.txt", "x")
    assert main(["init", str(target)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{target}: not a directory\n"


def test_init_then_plan_check_in_a_real_process(tmp_path: Path) -> None:
    init = run_cli("init", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert init.stdout.splitlines() == [
        "wrote    CLAUDE.md",
        "wrote    PLAN.md",
        f"wrote    {CONFIG_PATH}",
    ]
    check = run_cli("plan", "check", "--json", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    result = json.loads(check.stdout)
    assert result["waves"] == [["T1"], ["T2"]]
    assert result["critical_path"] == ["T1", "T2"]
    assert result["errors"] == []
