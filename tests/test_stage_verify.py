"""Issue 13: verification stages judge the run's committed code, with the run's imports."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from stage_support import RUN_ID, context, git, git_repo, make_config

from orchestrator_tui.core.models import StageName
from orchestrator_tui.stages.analyze import AnalyzeRunner
from orchestrator_tui.stages.cleanup import CleanupRunner
from orchestrator_tui.stages.security import SecurityRunner
from orchestrator_tui.stages.testing import TestRunner

SRC_PROJECT = {
    "pyproject.toml": "[project]\nname = 'pkg-demo'\nversion = '1'\n"
    "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
    "src/pkg/__init__.py": "def answer():\n    return 1\n",
    "tests/test_pkg.py": (
        "from pkg import answer\n\n\ndef test_answer():\n    assert answer() == 1\n"
    ),
    ".gitignore": ".venv/\n.orchestrator/\n",
}


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def editable_venv(workspace: Path, source: Path, dist: str = "pkg_demo") -> Path:
    """A virtualenv in the workspace with the project installed editable, as pip does for a
    src layout: a .pth line naming src/, a dist-info whose direct_url.json says editable.
    It also sees our site-packages (for pytest)."""
    venv = workspace / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    site = Path(purelib)
    (site / "_ours.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site / f"__editable__.{dist}-1.pth").write_text(str(source) + "\n")
    info = site / f"{dist}-1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1\n")
    direct = {"url": source.parent.as_uri(), "dir_info": {"editable": True}}
    (info / "direct_url.json").write_text(json.dumps(direct))
    return python


def run_checkout(workspace: Path) -> Path:
    git(workspace, "branch", f"orch/{RUN_ID}")
    checkout = workspace / ".orchestrator" / "worktrees" / "_run"
    git(workspace, "worktree", "add", "--quiet", str(checkout), f"orch/{RUN_ID}")
    return checkout


def test_an_editable_src_layout_install_tests_the_run_code_not_the_workspace(
    tmp_path: Path,
) -> None:
    """Observation 1: with `pip install -e .` in the workspace's .venv, the run's tests
    imported the workspace's src/ and failed on code the run had changed."""
    workspace = git_repo(tmp_path / "ws", SRC_PROJECT)
    editable_venv(workspace, workspace / "src")
    checkout = run_checkout(workspace)
    (checkout / "src" / "pkg" / "__init__.py").write_text("def answer():\n    return 2\n")
    (checkout / "tests" / "test_pkg.py").write_text(
        "from pkg import answer\n\n\ndef test_answer():\n    assert answer() == 2\n"
    )
    git(checkout, "commit", "--quiet", "-am", "the run changes the answer")
    ctx, _ = context(workspace, StageName.TEST)
    result = TestRunner().run(ctx)
    assert result.ok, result.details
    assert result.summary == "1 passed"
    origin = Path(result.evidence["imports"]["pkg"])
    assert origin.is_relative_to(checkout.resolve()), origin
    assert result.evidence["pythonpath"] == [str(checkout.resolve() / "src")]
    # in code spans: a path's `__init__` must not turn into bold "init" at the gate
    assert f"`{origin}`" in result.details and f"`{checkout.resolve() / 'src'}`" in result.details


def test_a_configured_command_with_the_projects_venv_runs_in_the_run_checkout(
    tmp_path: Path,
) -> None:
    """Found on a real trial (wcwidth): `[stages.test] command = [".venv/bin/python", "-m",
    "pytest"]` failed with ".venv/bin/python not found": the suite runs in the run branch's
    checkout, where the untracked virtualenv is not. The program is the workspace's."""
    workspace = git_repo(tmp_path / "ws", SRC_PROJECT)
    python = editable_venv(workspace, workspace / "src")
    checkout = run_checkout(workspace)
    command = [".venv/bin/python", "-m", "pytest", "-q"]
    ctx, _ = context(
        workspace, StageName.TEST, config=make_config(stages={"test": {"command": command}})
    )
    result = TestRunner().run(ctx)
    assert result.ok, result.details
    assert result.summary == "1 passed"
    assert result.evidence["command"].startswith(f"{python} -m pytest")
    assert Path(result.evidence["cwd"]) == checkout
    origin = Path(result.evidence["imports"]["pkg"])
    assert origin.is_relative_to(checkout.resolve()), origin


def test_analysis_says_what_the_test_stage_will_import(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", SRC_PROJECT)
    editable_venv(workspace, workspace / "src")
    ctx, _ = context(workspace, StageName.ANALYZE)
    result = AnalyzeRunner().run(ctx)
    text = (ctx.run_dir / "analysis.md").read_text()
    assert "editable" in text and "pkg_demo" in text and "src layout" in text
    assert "run checkout" in text
    assert result.evidence["python_env"]["editables"][0]["name"] == "pkg_demo"


def test_uncommitted_changes_in_the_run_checkout_are_committed_before_testing(
    tmp_path: Path,
) -> None:
    """Observation 2: an uncommitted fix in worktrees/_run gave a green test stage while a
    fresh checkout of the run branch failed."""
    project = {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n"
        "    assert add(1, 2) == 3\n",
    }
    workspace = git_repo(tmp_path / "ws", project)
    checkout = run_checkout(workspace)
    (checkout / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    ctx, notices = context(workspace, StageName.TEST)
    result = TestRunner().run(ctx)
    assert result.ok, result.details
    branch_head = git(workspace, "rev-parse", f"orch/{RUN_ID}").strip()
    assert result.evidence["commit"] == branch_head
    assert result.evidence["committed_first"] == ["calc.py"]
    assert git(checkout, "status", "--porcelain").strip() == ""
    assert "a + b" in git(workspace, "show", f"orch/{RUN_ID}:calc.py")
    assert any("committed" in text for _, text in notices)
    assert f"judged commit {branch_head[:10]}" in result.details


OLD_CODE = (
    "import os\n"
    "import hashlib\n\n\n"
    "def digest(data):\n"
    "    return hashlib.sha1(data).hexdigest()\n\n\n"
    "def  old_style( a,b ):\n"
    "    return {'a':a,'b':b}\n"
)
SECRET_FIXTURE = "def test_login():\n    password = 'secret-key'\n    assert password\n"


def test_pre_existing_findings_are_listed_apart_and_do_not_block(tmp_path: Path) -> None:
    """Observation 4: findings on lines the run did not touch (a SHA1 use, a secret-key
    fixture) blocked every run on a mature repository."""
    workspace = git_repo(
        tmp_path / "ws", {"app/core.py": OLD_CODE, "tests/test_a.py": SECRET_FIXTURE}
    )
    checkout = run_checkout(workspace)
    new_code = OLD_CODE + "\n\ndef scratch():\n    return open('/tmp/scratch.txt').read()\n"
    (checkout / "app" / "core.py").write_text(new_code)
    (checkout / "tests" / "test_a.py").write_text(
        SECRET_FIXTURE + "\n\ndef test_more():\n    pass\n"
    )
    git(checkout, "commit", "--quiet", "-am", "the run's work")
    ctx, _ = context(workspace, StageName.SECURITY)
    result = SecurityRunner().run(ctx)
    assert result.ok, result.details
    new = {(f["rule"], f["file"]) for f in result.evidence["findings"]}
    old = {(f["rule"], f["file"]) for f in result.evidence["pre_existing_findings"]}
    assert new == {("B108", "app/core.py")}
    assert ("B324", "app/core.py") in old
    assert result.evidence["counts"]["high"] == 0 and result.blockers == ()
    assert f"{len(old)} pre-existing, unchanged" in result.summary
    sarif = json.loads((ctx.run_dir / "security.sarif").read_text())
    states = {r["ruleId"]: r["baselineState"] for run in sarif["runs"] for r in run["results"]}
    assert states["B108"] == "new" and states["B324"] == "unchanged"
    assert result.evidence["commit"] == git(workspace, "rev-parse", f"orch/{RUN_ID}").strip()


def test_cleanup_formats_and_fixes_only_the_lines_the_run_changed(tmp_path: Path) -> None:
    """Observation 5: ruff's fixes and formatting rewrote whole files, old code included."""
    workspace = git_repo(tmp_path / "ws", {"app/core.py": OLD_CODE})
    checkout = run_checkout(workspace)
    added = "\n\ndef  new_style( x,y ):\n    import json\n    return [x,y]\n"
    (checkout / "app" / "core.py").write_text(OLD_CODE + added)
    git(checkout, "commit", "--quiet", "-am", "the run's work")
    ctx, _ = context(workspace, StageName.CLEANUP)
    result = CleanupRunner().run(ctx)
    assert result.ok, result.details
    after = (checkout / "app" / "core.py").read_text()
    assert after.startswith(OLD_CODE)  # old code byte for byte: `import os`, `old_style( a,b )`
    assert "def new_style(x, y):" in after and "return [x, y]" in after
    assert "import json" not in after  # an unused import on the run's lines is fixed
    assert result.evidence["left_alone"] >= 1  # the old unused `import os`
    assert git(checkout, "status", "--porcelain").strip() == ""  # committed on the run branch
