"""The analyze stage: the workspace map in analysis.md, with and without git or an agent."""

from __future__ import annotations

from pathlib import Path

import pytest
from stage_support import FakeAgent, context, git_repo, make_config, write_files

from orchestrator_tui.core.models import StageName
from orchestrator_tui.core.protocols import AgentResult
from orchestrator_tui.stages.analyze import AnalyzeRunner, build_map
from orchestrator_tui.stages.imports import build_import_graph

PROJECT = {
    "shop/__init__.py": "",
    "shop/models.py": "class Item:\n    pass\n",
    "shop/cart.py": "from .models import Item\nimport json\n",
    "shop/api.py": "from shop.models import Item\nfrom . import cart\nimport requests\n",
    "shop/checkout.py": "from shop import models\n",
    "tests/test_cart.py": "from shop.cart import Item\n\ndef test_x():\n    assert Item\n",
    "README.md": "# Shop\n\nA shop.\n",
    "web/app.js": "console.log(1)\nconsole.log(2)\n",
    "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
}


def test_maps_a_git_repository(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "shop", PROJECT)
    ctx, _ = context(workspace, StageName.ANALYZE)
    result = AnalyzeRunner().run(ctx)
    assert result.ok, result.summary
    report = (ctx.run_dir / "analysis.md").read_text()
    assert "| Python | 6 |" in report
    assert "| JavaScript | 1 | 2 |" in report
    assert "| `shop/` | 5 |" in report
    # shop.models is imported by cart (relative), api (absolute) and checkout (from shop)
    assert result.evidence["most_imported"][:2] == ["shop.models", "shop.cart"]
    assert "| `shop.models` | 3 | `shop/models.py` |" in report
    assert "| `requests` | 1 |" in report  # third party; json (stdlib) is left out
    assert "`json`" not in report
    assert result.evidence["test"]["framework"] == "pytest"
    git_info = result.evidence["git"]
    assert git_info["branch"] == "main" and git_info["dirty"] == 0 and len(git_info["head"]) == 40
    assert "branch main at" in report and "clean" in report
    assert "tests: pytest" in result.summary


def test_dirty_state_is_counted_and_orchestrator_files_are_not(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "shop", PROJECT)
    write_files(workspace, {"shop/models.py": "changed = 1\n", "notes.txt": "new\n"})
    ctx, _ = context(workspace, StageName.ANALYZE)  # this creates .orchestrator/runs/…
    result = AnalyzeRunner().run(ctx)
    assert result.evidence["git"]["dirty"] == 2
    assert "2 uncommitted changes" in (ctx.run_dir / "analysis.md").read_text()


def test_without_git_walks_the_directory_and_skips_tool_folders(tmp_path: Path) -> None:
    write_files(tmp_path, PROJECT)
    write_files(tmp_path, {"node_modules/x/index.js": "x\n" * 50, ".venv/lib/a.py": "a\n"})
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\x00\x00binary")
    ctx, _ = context(tmp_path, StageName.ANALYZE)
    result = AnalyzeRunner().run(ctx)
    assert result.ok
    report = (ctx.run_dir / "analysis.md").read_text()
    assert "not a git repository" in report
    assert "directory walk" in report
    # (the test command may name the venv's python, so look at the layout and the counts)
    assert "`node_modules/`" not in report and "`.venv/`" not in report
    assert "| JavaScript | 1 | 2 |" in report  # node_modules/x/index.js was not counted
    assert result.evidence["files"] == len(PROJECT)
    assert "1 binary or unreadable file" in report


def test_an_empty_workspace_is_mapped_without_error(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, StageName.ANALYZE)
    result = AnalyzeRunner().run(ctx)
    assert result.ok
    assert result.evidence["files"] == 0
    assert "no test framework found" in (ctx.run_dir / "analysis.md").read_text()


def test_a_missing_workspace_fails_with_the_reason(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, StageName.ANALYZE)
    gone = type(ctx)(**{**ctx.__dict__, "workspace": tmp_path / "gone"})
    result = AnalyzeRunner().run(gone)
    assert not result.ok and "not a directory" in result.summary


def test_agent_notes_are_added_to_the_map(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "shop", PROJECT)
    agent = FakeAgent([AgentResult(ok=True, final_text="Overview: a small shop.")])
    config = make_config(stages={"analyze": {"agent": "claude"}})
    ctx, _ = context(workspace, StageName.ANALYZE, config=config, run_agent=agent)
    result = AnalyzeRunner().run(ctx)
    assert result.ok
    assert agent.profiles == ["claude"]
    assert "instructions of analyze" in agent.prompts[0]
    assert "| `shop.models` | 3 |" in agent.prompts[0]  # the agent gets the map
    report = (ctx.run_dir / "analysis.md").read_text()
    assert report.rstrip().endswith("## Agent notes\n\nOverview: a small shop.")


def test_a_failing_agent_fails_the_stage_but_keeps_the_map(tmp_path: Path) -> None:
    workspace = git_repo(tmp_path / "shop", PROJECT)
    agent = FakeAgent([AgentResult(ok=False, reason="timeout", exit_code=None)])
    config = make_config(stages={"analyze": {"agent": "claude"}})
    ctx, _ = context(workspace, StageName.ANALYZE, config=config, run_agent=agent)
    result = AnalyzeRunner().run(ctx)
    assert not result.ok
    assert "the claude agent failed (timeout)" in result.summary
    assert "| Python | 6 |" in (ctx.run_dir / "analysis.md").read_text()


def test_import_graph_resolves_relative_and_src_layout_imports() -> None:
    graph = build_import_graph(
        {
            "src/pkg/__init__.py": "from .core import run\n",
            "src/pkg/core.py": "import os\n",
            "src/pkg/sub/__init__.py": "",
            "src/pkg/sub/leaf.py": "from .. import core\nfrom ..core import run  # again\n",
            "src/pkg/sub/other.py": "from pkg.sub import leaf\nimport pkg.core as c, yaml\n",
            "tool.py": "from pkg import (\n    core,\n)\n",
        }
    )
    assert graph.modules["pkg.sub.leaf"] == "src/pkg/sub/leaf.py"
    assert dict(graph.most_imported(2)) == {"pkg.core": 4, "pkg.sub.leaf": 1}
    assert graph.external == {"yaml": 1}


def test_build_map_survives_garbage_python(tmp_path: Path) -> None:
    write_files(tmp_path, {"bad.py": "import (((\nfrom . import\n\x7f"})
    (tmp_path / "latin1.py").write_bytes(b"x = '\xe9'\n")
    project = build_map(tmp_path)
    assert project.files == 2


def test_no_interpreter_is_started_for_a_workspace_without_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python environment is probed (a second interpreter, ~0.1 s) only for a project
    that has Python: a plan of shell commands or another language starts none."""
    from orchestrator_tui.stages import analyze, pyenv

    probed: list[str] = []
    real = pyenv.probe
    monkeypatch.setattr(
        pyenv, "probe", lambda python, root: probed.append(python) or real(python, root)
    )
    write_files(tmp_path / "sh", {"README.md": "# notes\n", "build.sh": "echo hi\n"})
    result = AnalyzeRunner().run(context(tmp_path / "sh", StageName.ANALYZE)[0])
    assert result.ok and "python_env" not in result.evidence and probed == []
    write_files(tmp_path / "py", {"pyproject.toml": "[project]\nname = 'x'\n"})
    result = AnalyzeRunner().run(context(tmp_path / "py", StageName.ANALYZE)[0])
    assert result.ok and len(probed) == 1 and analyze.is_python_project(build_map(tmp_path / "py"))
