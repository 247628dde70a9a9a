"""What a project's Python environment imports, and how to make it import the run's code.

A project installed editable in its own virtualenv (`pip install -e .`, `uv pip install -e`,
hatch, poetry) points its environment at the *workspace's* source: a `.pth` line with the
workspace's `src/` (or its root), or an import finder appended to `sys.meta_path`. Run the
tests from the run branch's checkout with that interpreter and `import pkg` loads the
workspace's files, not the run's. The cure is to put the run checkout's import roots first
on `PYTHONPATH` (it comes before site-packages and before any appended finder), then check,
with the same interpreter and environment, where each package really comes from.

`probe` lists the environment's editable distributions (from `direct_url.json`, PEP 610);
`import_plan` turns them and the project's layout into the roots to put first; `where_from`
asks the interpreter where each top-level package is imported from.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

PROBE_TIMEOUT = 30.0

PROBE = r"""
import json, sys
from importlib import metadata
found = []
for dist in metadata.distributions():
    try:
        raw = dist.read_text("direct_url.json")
    except Exception:
        raw = None
    if not raw:
        continue
    try:
        info = json.loads(raw)
    except ValueError:
        continue
    if not (info.get("dir_info") or {}).get("editable"):
        continue
    top = (dist.read_text("top_level.txt") or "").split()
    found.append({"name": dist.metadata["Name"], "url": info.get("url", ""), "top": top})
print(json.dumps(found))
"""

WHERE = r"""
import importlib.util, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        spec = importlib.util.find_spec(name)
    except Exception as exc:
        out[name] = "error: %s" % exc
        continue
    if spec is None:
        out[name] = ""
    elif spec.origin and spec.origin not in ("namespace", "built-in", "frozen"):
        out[name] = spec.origin
    else:
        out[name] = (list(spec.submodule_search_locations or []) or [""])[0]
print(json.dumps(out))
"""


@dataclass(frozen=True)
class Editable:
    """An editable install in the environment: its name, the folder it was installed from,
    and its top-level packages (when the installer recorded them)."""

    name: str
    source: str
    top: tuple[str, ...] = ()


@dataclass
class ImportPlan:
    """Roots to put first on PYTHONPATH (in the run checkout) and the packages to check."""

    roots: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)
    layout: str = ""
    editables: list[Editable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """PYTHONPATH with the roots first (anything already there after them)."""
        if not self.roots:
            return {}
        current = (base if base is not None else os.environ).get("PYTHONPATH", "")
        return {"PYTHONPATH": os.pathsep.join([*self.roots, *([current] if current else [])])}


def run_python(python: str, code: str, args: list[str], cwd: Path, env: dict[str, str]) -> str:
    try:
        done = subprocess.run(
            [python, "-c", code, *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=PROBE_TIMEOUT,
            env={**os.environ, **env},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def url_path(url: str) -> str:
    parsed = urlparse(url)
    return unquote(parsed.path) if parsed.scheme == "file" else ""


def probe(python: str, cwd: Path) -> list[Editable]:
    """The editable distributions the interpreter's environment has."""
    try:
        items = json.loads(run_python(python, PROBE, [], cwd, {}) or "[]")
    except ValueError:
        return []
    return [
        Editable(str(i.get("name", "")), url_path(str(i.get("url", ""))), tuple(i.get("top", ())))
        for i in items
        if isinstance(i, dict)
    ]


def normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def top_level(folder: Path) -> list[str]:
    """Importable top-level names in a folder: packages (with __init__.py) and modules."""
    if not folder.is_dir():
        return []
    names = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith((".", "_")) or entry.name in ("tests", "test", "docs"):
            continue
        if entry.is_dir() and (entry / "__init__.py").is_file():
            names.append(entry.name)
        elif entry.suffix == ".py" and entry.stem not in ("setup", "conftest", "noxfile"):
            names.append(entry.stem)
    return names


def layout_of(project: Path, dist_name: str = "") -> tuple[str, list[str]]:
    """('src', packages) when the project keeps its code in src/, ('flat', packages) when
    it keeps it at its root, ('', []) when neither is clear."""
    in_src = top_level(project / "src")
    if in_src:
        return "src", in_src
    flat = top_level(project)
    wanted = normalized(dist_name)
    named = [n for n in flat if normalized(n) == wanted]
    return ("flat", named or [n for n in flat if (project / n).is_dir()]) if flat else ("", [])


def import_plan(editables: list[Editable], workspace: Path, checkout: Path) -> ImportPlan:
    """Where the run checkout's code must come first, for the editable installs of this
    workspace (an editable install of some other folder is left alone)."""
    plan = ImportPlan(editables=editables)
    home = workspace.resolve()
    for item in editables:
        source = Path(item.source).resolve() if item.source else None
        if source is None or not (source == home or source.is_relative_to(home)):
            continue
        sub = source.relative_to(home)
        where = checkout / sub if (checkout / sub).is_dir() else source
        layout, packages = layout_of(where, item.name)
        if not layout:
            plan.notes.append(f"{item.name}: editable from {source}, layout not recognised")
            continue
        root = checkout / sub / ("src" if layout == "src" else "")
        plan.layout = plan.layout or layout
        if str(root) not in plan.roots:
            plan.roots.append(str(root).rstrip("/"))
        plan.packages += [p for p in (item.top or packages) if p not in plan.packages]
    return plan


def where_from(python: str, packages: list[str], cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Package → the file it is imported from, with this interpreter and environment."""
    if not packages:
        return {}
    try:
        found = json.loads(run_python(python, WHERE, packages, cwd, env) or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def outside(origins: dict[str, str], checkout: Path) -> dict[str, str]:
    """The packages that would not be imported from the run checkout."""
    base = checkout.resolve()
    wrong = {}
    for name, origin in origins.items():
        path = Path(origin).resolve() if origin and not origin.startswith("error") else None
        if path is None or not path.is_relative_to(base):
            wrong[name] = origin or "not importable"
    return wrong


def describe(workspace: Path, python: str) -> tuple[list[str], dict[str, object]]:
    """analysis.md's section on the Python environment, and its evidence."""
    if not python or not Path(python).is_file():
        return [], {}
    editables = probe(python, workspace)
    plan = import_plan(editables, workspace, Path("<run checkout>"))
    lines = ["## Python environment", "", f"Interpreter: `{python}`."]
    mine = [e for e in editables if e.source and Path(e.source).resolve() == workspace.resolve()]
    if not mine:
        lines.append(
            "No editable install of this workspace: the tests import what the run checkout "
            "(the current folder) and the environment provide."
        )
    for item in mine:
        layout, packages = layout_of(workspace, item.name)
        lines.append(
            f"- `{item.name}` is installed editable from `{item.source}` ({layout or 'unknown'} "
            f"layout; packages {', '.join(f'`{p}`' for p in packages) or '?'}). Run as is, the "
            "tests would import the workspace's files, not the run's."
        )
    if plan.roots:
        lines.append(
            f"The test stage puts {', '.join(f'`{r}`' for r in plan.roots)} first on "
            "PYTHONPATH (the run checkout's copy), and checks before running that "
            + ", ".join(f"`{p}`" for p in plan.packages)
            + " is imported from the run checkout."
        )
    lines += [f"- {note}" for note in plan.notes]
    evidence = {
        "python": python,
        "editables": [{"name": e.name, "source": e.source} for e in editables],
        "layout": plan.layout,
        "packages": plan.packages,
    }
    return ["", *lines], evidence
