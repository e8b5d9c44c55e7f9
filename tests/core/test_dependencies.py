"""Dependency hygiene: every declared runtime dependency is used by the package and pinned in the lock."""

from __future__ import annotations

import re
import tomllib

from helpers import REPO_ROOT

# distribution name → import name, where they differ
IMPORT_NAME = {"hydra-core": "hydra", "pyyaml": "yaml"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def test_declared_dependencies_are_imported_and_locked():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    source = "\n".join(p.read_text() for p in (REPO_ROOT / "src" / "responserank").rglob("*.py"))
    lock = {
        _name(line) for line in (REPO_ROOT / "requirements-lock.txt").read_text().splitlines() if "==" in line
    }
    for requirement in project["dependencies"]:
        name = _name(requirement)
        module = IMPORT_NAME.get(name, name.replace("-", "_"))
        assert re.search(rf"^\s*(import|from) {module}\b", source, re.MULTILINE), f"{name} is never imported"
        assert name in lock, f"{name} is not pinned in requirements-lock.txt"


def test_lock_is_sorted_and_pins_exact_versions():
    lines = [
        line
        for line in (REPO_ROOT / "requirements-lock.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+\-]+", line) for line in lines), lines
    names = [_name(line) for line in lines]
    assert names == sorted(names)
