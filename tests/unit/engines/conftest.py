"""The differential conformance harness reports what it covered at the end of the run."""

from __future__ import annotations

from typing import Any

from tests.unit.engines.differential import COVERAGE


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not COVERAGE.checks and not COVERAGE.random_circuits:
        return
    terminalreporter.section("engine differential conformance")
    for line in COVERAGE.lines():
        terminalreporter.write_line(line)
