"""Issue 13, what to build 1: the test stage imports the run's code for the other editable
install shapes too — a flat layout (the project root on sys.path) and setuptools' finder
mode (a meta-path finder mapping the package to the workspace's folder)."""

from __future__ import annotations

from pathlib import Path

import pytest
from stage_support import context, git, git_repo, make_config
from test_stage_verify import editable_venv, run_checkout

from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.protocols import StageResult
from orchestrator_tui.stages.testing import TestRunner

FLAT_PROJECT = {
    "pyproject.toml": "[project]\nname = 'flatpkg'\nversion = '1'\n"
    "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
    "flatpkg/__init__.py": "def answer():\n    return 1\n",
    "tests/test_flat.py": "from flatpkg import answer\n\n\ndef test_answer():\n"
    "    assert answer() == 2\n",
    ".gitignore": ".venv/\n.orchestrator/\n",
}
FINDER = """
import importlib.abc, importlib.util, sys
MAPPING = {"flatpkg": %r}
class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in MAPPING:
            return importlib.util.spec_from_file_location(
                name, MAPPING[name] + "/__init__.py", submodule_search_locations=[MAPPING[name]]
            )
        return None
def install():
    sys.meta_path.append(_Finder())
"""


@pytest.fixture(autouse=True)
def fast_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def stage_result(workspace: Path) -> StageResult:
    """The test stage with the venv's python as `pytest` runs from its script: `-P` keeps
    the current directory off sys.path, so only the import roots decide what is imported."""
    python = str(workspace / ".venv" / "bin" / "python")
    config = make_config(stages={"test": {"command": [python, "-P", "-m", "pytest", "-q"]}})
    return TestRunner().run(context(workspace, StageName.TEST, config=config)[0])


def flat_venv(workspace: Path, pth: str) -> None:
    """An editable install of the flat project in the workspace's .venv (direct_url.json
    names the project root), whose .pth file says `pth`."""
    python = editable_venv(workspace, workspace / "unused", dist="flatpkg")
    site = next(python.parent.parent.glob("lib/python*/site-packages"))
    (site / "__editable__.flatpkg-1.pth").write_text(pth)
    (site / "__editable___flatpkg_1_finder.py").write_text(FINDER % str(workspace / "flatpkg"))


def changed_run(workspace: Path) -> Path:
    checkout = run_checkout(workspace)
    (checkout / "flatpkg" / "__init__.py").write_text("def answer():\n    return 2\n")
    git(checkout, "commit", "--quiet", "-am", "the run changes the answer")
    return checkout


def test_a_flat_layout_editable_install_tests_the_run_code(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", FLAT_PROJECT)
    flat_venv(workspace, f"{workspace}\n")  # the .pth names the project root
    checkout = changed_run(workspace)
    result = stage_result(workspace)
    assert result.ok and result.summary == "1 passed", result.details
    assert Path(result.evidence["imports"]["flatpkg"]).is_relative_to(checkout.resolve())
    assert result.evidence["pythonpath"] == [str(checkout.resolve())]


def test_a_finder_mode_editable_install_tests_the_run_code(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "ws", FLAT_PROJECT)
    flat_venv(workspace, "import __editable___flatpkg_1_finder as f; f.install()\n")
    checkout = changed_run(workspace)
    result = stage_result(workspace)
    assert result.ok and result.summary == "1 passed", result.details
    assert Path(result.evidence["imports"]["flatpkg"]).is_relative_to(checkout.resolve())
