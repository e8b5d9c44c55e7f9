"""The import graph keeps its layers: core at the bottom, experiment families above, nothing running back up.

Layers: the core modules (``responserank/*.py``: losses, segments, strata, metrics, ddm, errors, reporting, …)
import no family; a family (``synthetic``, ``llm``, ``rl_control``, ``fitting``) imports the core and itself but
no other family. The package front doors (``responserank/__init__.py`` lazy exports, ``__main__.py``) may name a
family. Checked on the source with ``ast`` (function-level imports count too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "responserank"
FAMILIES = ("synthetic", "llm", "rl_control", "fitting")
FRONT_DOORS = ("__init__.py", "__main__.py")


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FAMILIES else "core"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("responserank")
        ):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("responserank"))
    return names


def _module(path: Path) -> str:
    parts = ["responserank", *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = sorted(p for p in SOURCE.rglob("*.py"))


def test_no_relative_imports():
    relative = [
        str(p.relative_to(SOURCE))
        for p in MODULES
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.level
    ]
    assert relative == []


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.parent == SOURCE and p.name not in FRONT_DOORS], ids=str
)
def test_core_imports_no_family(path):
    upward = sorted(name for name in _imports(path) if _layer(name) != "core")
    assert upward == [], f"{path.name} imports a family: {upward}"


@pytest.mark.parametrize(
    "path", [p for p in MODULES if p.parent != SOURCE], ids=lambda p: p.parent.name + "/" + p.name
)
def test_families_import_only_core_and_themselves(path):
    own = _layer(_module(path))
    sideways = sorted(name for name in _imports(path) if _layer(name) not in ("core", own))
    assert sideways == [], f"{_module(path)} imports another family: {sideways}"


def test_a_family_imports_its_analysis_only_from_entry_points_or_functions():
    """Library code may write a run record through ``analysis.run_store`` but never loads analysis at import time;
    only command-line entry points (modules with a ``__main__`` guard) sit on top of their family's analysis."""
    for path in MODULES:
        module = _module(path)
        if ".analysis" in module or _layer(module) == "core":
            continue
        source = path.read_text(encoding="utf-8")
        if 'if __name__ == "__main__":' in source:
            continue
        top_level = ast.parse(source).body
        eager = [
            node.module
            for node in top_level
            if isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith(f"responserank.{_layer(module)}.analysis")
        ]
        assert eager == [], f"{module} imports {eager} at import time"
