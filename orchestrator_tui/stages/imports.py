"""The Python import graph of a project, from regexes rather than parsing (fast enough for
thousands of files): which local modules most others import, and which outside packages
the code uses (the standard library left out)."""

from __future__ import annotations

import re
import sys
from collections import Counter
from dataclasses import dataclass, field

IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)"
    r"|import[ \t]+([^\n#;]+))",
    re.MULTILINE,
)


@dataclass
class ImportGraph:
    """Local modules (dotted name → file), and who imports whom."""

    modules: dict[str, str] = field(default_factory=dict)
    importers: dict[str, set[str]] = field(default_factory=dict)
    external: Counter[str] = field(default_factory=Counter)

    @property
    def edges(self) -> int:
        return sum(len(v) for v in self.importers.values())

    def most_imported(self, limit: int = 10) -> list[tuple[str, int]]:
        ranked = sorted(self.importers.items(), key=lambda i: (-len(i[1]), i[0]))
        return [(name, len(who)) for name, who in ranked[:limit] if who]

    def render(self) -> list[str]:
        lines = ["## Python imports", ""]
        if not self.modules:
            return [*lines, "No Python modules."]
        lines.append(f"{len(self.modules):,} modules, {self.edges:,} local import edges.")
        top = self.most_imported()
        if top:
            lines += ["", "### Most imported modules", "", "| module | importers | file |"]
            lines.append("|---|---:|---|")
            lines += [f"| `{n}` | {c} | `{self.modules[n]}` |" for n, c in top]
        if self.external:
            lines += ["", "### Third-party packages imported", ""]
            lines += ["| package | importers |", "|---|---:|"]
            lines += [f"| `{n}` | {c} |" for n, c in self.external.most_common(10)]
        return lines


def module_name(path: str, packages: set[str]) -> str:
    """`src/pkg/sub/mod.py` → `pkg.sub.mod` when pkg/ and sub/ have an __init__.py."""
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
        folder_parts = parts
    else:
        folder_parts = parts[:-1]
    start = len(folder_parts)
    while start > 0 and "/".join(folder_parts[:start]) in packages:
        start -= 1
    return ".".join(parts[start:]) or path


def resolve_relative(module: str, is_package: bool, dots: int, target: str) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    if dots > 1:
        package = package[: len(package) - (dots - 1)]
    return ".".join([*package, *([target] if target else [])])


def imported_names(source: str, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """What this source imports: (module, names imported from it) pairs, relative imports
    made absolute. `import a.b` gives ('a.b', [])."""
    found: list[tuple[str, list[str]]] = []
    for match in IMPORT_LINE.finditer(source):
        origin, names, plain = match.groups()
        if plain is not None:
            found += [(n, []) for n in (i.strip().split(" ")[0] for i in plain.split(",")) if n]
            continue
        dots = len(origin) - len(origin.lstrip("."))
        base = origin.lstrip(".")
        if dots:
            base = resolve_relative(module, is_package, dots, base)
        if not base:
            continue
        listed = " ".join(line.split("#")[0] for line in names.strip("()").splitlines())
        members = [item.strip().split(" ")[0] for item in listed.split(",")]
        found.append((base, [m for m in members if m.isidentifier()]))
    return found


def resolve_local(base: str, members: list[str], modules: dict[str, str]) -> set[str]:
    """The local modules an import names: `from pkg import sub` is pkg.sub when that is a
    module, else pkg (or the longest local prefix of it)."""
    submodules = {f"{base}.{m}" for m in members if f"{base}.{m}" in modules}
    if submodules:
        return submodules
    local = longest_local(base, modules)
    return {local} if local else set()


def build_import_graph(sources: dict[str, str]) -> ImportGraph:
    """`sources`: relative path → text of every Python file."""
    packages = {p.rsplit("/", 1)[0] for p in sources if p.endswith("/__init__.py")}
    graph = ImportGraph()
    names: dict[str, str] = {}
    for path in sources:
        names[path] = module_name(path, packages)
        graph.modules.setdefault(names[path], path)
    local_tops = {m.split(".")[0] for m in graph.modules}
    for path, source in sources.items():
        module = names[path]
        targets: set[str] = set()
        outside: set[str] = set()
        for base, members in imported_names(source, module, path.endswith("__init__.py")):
            local = resolve_local(base, members, graph.modules)
            targets |= local - {module}
            if not local:
                outside.add(base.split(".")[0])
        for target in targets:
            graph.importers.setdefault(target, set()).add(module)
        graph.external.update(
            n for n in outside if n not in local_tops and n not in sys.stdlib_module_names
        )
    return graph


def longest_local(name: str, modules: dict[str, str]) -> str:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return ""
