"""Imports point down the job's life: the lower layers never import the higher ones."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from qharbor.jobs import JobStatus

SRC = Path(__file__).resolve().parents[2] / "src" / "qharbor"


def imported(path: Path) -> list[tuple[str, bool]]:
    """Every module ``path`` imports, and whether the import is at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
            found += [(f"{node.module}.{alias.name}", id(node) in top) for alias in node.names]
    return found


def in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_wire_imports_only_the_standard_library_and_errors() -> None:
    outside = {
        name
        for name, _ in imported(SRC / "wire.py")
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith(("qharbor.errors", "cryptography"))
        and name not in {"qharbor", "__future__.annotations"}
    }
    assert outside == set()


def test_the_result_schema_imports_only_the_standard_library() -> None:
    outside = {
        name
        for name, _ in imported(SRC / "result_schema.py")
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in {"__future__.annotations"}
    }
    assert outside == set()


@pytest.mark.parametrize("path", sorted((SRC / "workers").glob("*.py")), ids=lambda p: p.name)
def test_workers_import_no_scheduler_executor_or_api(path: Path) -> None:
    above = ("qharbor.jobs.scheduler", "qharbor.jobs.manager", "qharbor.executors", "qharbor.api")
    assert [n for n, _ in imported(path) if any(in_package(n, p) for p in above)] == []


@pytest.mark.parametrize("path", sorted((SRC / "security").glob("*.py")), ids=lambda p: p.name)
def test_security_imports_nothing_from_jobs(path: Path) -> None:
    assert [n for n, _ in imported(path) if in_package(n, "qharbor.jobs")] == []


@pytest.mark.parametrize("path", sorted((SRC / "cli").glob("*.py")), ids=lambda p: p.name)
def test_cli_modules_import_each_other_only_at_module_level_and_never_the_app(path: Path) -> None:
    names = [(n, top) for n, top in imported(path) if in_package(n, "qharbor.cli")]
    if path.name != "__init__.py":
        assert all(n.startswith("qharbor.cli.") for n, _ in names), names
    assert all(top for _, top in names), names


@pytest.mark.parametrize("path", sorted((SRC / "security").glob("*.py")), ids=lambda p: p.name)
def test_security_names_no_job_status(path: Path) -> None:
    statuses = {status.value for status in JobStatus}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}
    assert literals & statuses == set()
