"""The package's own modules a stage imports, found statically (every ``import`` statement,
at module level or inside functions, followed transitively; parent packages included).

These are the code dependencies of the stage in dvc.yaml: a change in any of them re-runs
the stage, a change elsewhere does not. ``tests/integration/test_dvc_declared.py`` checks
them against the modules a stage really loads.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = "chemchallenge"
#: the package's source folder
SOURCE = Path(__file__).resolve().parents[1]


def module_file(module: str) -> Path | None:
    """Source file of a ``chemchallenge.*`` module (``__init__.py`` for a package)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = SOURCE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@cache
def direct_imports(module: str) -> frozenset[str]:
    """``chemchallenge.*`` modules named by the import statements of ``module``."""
    path = module_file(module)
    if path is None:
        return frozenset()
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub`: sub may be a module or a name defined in pkg
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == PACKAGE and module_file(name) is not None:
                found.add(name)
    return frozenset(found)


def closure(entries: list[str]) -> set[str]:
    """``entries`` and every package module they import, transitively, with their parents."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        module = todo.pop()
        if module in seen or module_file(module) is None:
            continue
        seen.add(module)
        todo.extend(direct_imports(module))
        todo.extend(_parents(module))
    return seen


def source_files(entries: list[str]) -> list[Path]:
    """Sorted source files of :func:`closure`."""
    files = {module_file(m) for m in closure(entries)}
    return sorted(f for f in files if f is not None)
