"""Imports point down the job's life: the lower layers never import the higher ones."""

from __future__ import annotations

import ast
import graphlib
import sys
from functools import cache
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


# --- the whole package order ------------------------------------------------------------
#
# The layers of one job's life, top first: client, api, submission, programs, the job
# store, scheduler, executors, workers, engines, result (the architecture map), with
# the packages beside that chain placed where their callers and callees put them. A
# module may import its own layer and any layer below it, never one above.

#: Module prefix -> layer; the longest prefix that matches a module decides.
LAYERS: dict[str, int] = {
    # the command line, the demo and the applications stand on the client
    "qharbor.cli": 0,
    "qharbor.apps": 0,
    "qharbor.demo": 0,
    "qharbor.render": 0,
    # the SDK and its adapters (qharbor.braket, .origin and .qiskit are public import paths)
    "qharbor.client": 1,
    "qharbor.braket": 1,
    "qharbor.origin": 1,
    "qharbor.qiskit": 1,
    # the HTTP edge, the console, and the centre they are served by
    "qharbor.api": 2,
    "qharbor.console": 2,
    "qharbor.centre": 3,
    # admission
    "qharbor.jobs.submission": 4,
    "qharbor.jobs.preparation": 4,
    "qharbor.jobs.dryrun": 4,
    "qharbor.jobs.checks": 4,
    "qharbor.programs": 5,
    # the centre's hybrid programs: their loops admit jobs through submission
    "qharbor.runtime": 4,
    # the scheduler drives the store from above: it claims through the manager, signs
    # results with the centre's key and hands claims to the executors; only the
    # centre starts it
    "qharbor.jobs.scheduler": 5,
    # the store of jobs and what reads it; security and accounting are consulted by it
    "qharbor.jobs": 6,
    "qharbor.security": 7,
    "qharbor.accounting": 7,
    "qharbor.jobs.policy": 8,
    "qharbor.executors": 9,
    "qharbor.workers": 10,
    "qharbor.primitives": 10,
    "qharbor.devices": 11,
    # the claim a worker is handed carries the device it runs on
    "qharbor.jobs.claims": 11,
    "qharbor.engines": 12,
    # a twin's file, calibration and document: data the engines' noise models read
    "qharbor.devices.twins": 13,
    # values every layer may hold: a job, its request once admitted, its parsed
    # programs, its options, its result and the result's shapes
    "qharbor.jobs.job": 13,
    "qharbor.jobs.request": 13,
    "qharbor.jobs.parsed": 13,
    # the compact form of a plain circuit: a parsed program holds it, engines run it
    "qharbor.engines.gatelist": 13,
    "qharbor.jobs.options": 13,
    # the error-mitigation options a job's options hold, and the plan they resolve to
    "qharbor.primitives.resilience": 13,
    "qharbor.jobs.result": 13,
    "qharbor.jobs.shapes": 13,
    "qharbor.store": 14,
    "qharbor.settings": 15,
    "qharbor.wire": 15,
    "qharbor.result_schema": 15,
    "qharbor.errors": 15,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in SRC.rglob("*.py") if "migrations" not in path.parts}


def resolve(name: str) -> str | None:
    """The qharbor module an imported name belongs to, or None outside qharbor."""
    while name not in MODULES:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def module_level_imports(path: Path) -> set[str]:
    """The qharbor modules a file imports at module level.

    ``from package import name`` counts as an import of ``package.name`` where that is a
    module, else of ``package``; ``from qharbor import errors`` is thus ``qharbor.errors``:
    the root package is where the public names are gathered, not a layer.
    """
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(filter(None, (resolve(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.update(
                    filter(None, [resolve(submodule if submodule in MODULES else node.module)])
                )
    return found


@cache
def module_imports(module: str) -> frozenset[str]:
    """The qharbor modules ``module`` imports at module level, itself and the root left out."""
    return frozenset(module_level_imports(MODULES[module]) - {module, "qharbor"})


def layer(module: str) -> int:
    matches = [prefix for prefix in LAYERS if in_package(module, prefix)]
    assert matches, f"{module} has no layer; place it in LAYERS"
    return LAYERS[max(matches, key=len)]


def upward_imports() -> set[tuple[str, str]]:
    return {
        (module, target)
        for module in MODULES
        if module != "qharbor"
        for target in module_imports(module)
        if layer(target) < layer(module)
    }


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        if module != "qharbor":
            layer(module)


def test_imports_point_down_the_jobs_life() -> None:
    assert upward_imports() == set()


def test_no_module_level_import_cycle() -> None:
    graph = {module: module_imports(module) for module in MODULES if module != "qharbor"}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle


def test_a_cycle_is_found() -> None:
    """The cycle check can fail: graphlib sees a two-module cycle."""
    with pytest.raises(graphlib.CycleError):
        graphlib.TopologicalSorter({"a": {"b"}, "b": {"a"}}).prepare()


HTTP = ("fastapi", "starlette", "httpx", "requests", "uvicorn", "qharbor.api", "qharbor.client")


@pytest.mark.parametrize(
    "path", sorted((SRC / "programs").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_programs_know_nothing_of_http(path: Path) -> None:
    assert [n for n, _ in imported(path) if n.startswith(HTTP)] == []


@pytest.mark.parametrize(
    "path", sorted((SRC / "engines").rglob("*.py")), ids=lambda p: str(p.relative_to(SRC))
)
def test_engines_know_nothing_of_jobs_or_the_database(path: Path) -> None:
    names = [n for n, _ in imported(path)]
    assert [n for n in names if n.startswith(("qharbor.jobs", "qharbor.store", "sqlalchemy"))] == []


#: What the client may import from qharbor, anywhere in a module: itself and the shared formats.
CLIENT_MAY_IMPORT = (
    "qharbor.client",
    "qharbor.errors",
    "qharbor.wire",
    "qharbor.result_schema",
    "qharbor.render",
)
#: Client imports of other qharbor code, at any depth, still to go; do not add to this list.
KNOWN_CLIENT_IMPORTS: frozenset[tuple[str, str]] = frozenset(
    {
        # HarborService.local_twin builds the local emulator (behind the 'twin' extra)
        ("client/service.py", "qharbor.engines"),
        ("client/service.py", "qharbor.engines.twin"),
    }
)


def client_imports() -> set[tuple[str, str]]:
    found = set()
    for path in sorted((SRC / "client").rglob("*.py")):
        for name, _ in imported(path):
            target = resolve(name)
            if target is None or target == "qharbor" or in_package(target, CLIENT_MAY_IMPORT[0]):
                continue
            if not target.startswith(CLIENT_MAY_IMPORT):
                found.add((str(path.relative_to(SRC)), target))
    return found


def test_the_client_never_imports_server_code() -> None:
    assert client_imports() - KNOWN_CLIENT_IMPORTS == set()
    assert KNOWN_CLIENT_IMPORTS - client_imports() == set()
