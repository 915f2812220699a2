"""The examples in docs/formats.md run against a centre as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from qharbor.programs import parse_program
from tests.integration.conftest import RunningCentre

DOC = Path(__file__).resolve().parents[2] / "docs" / "formats.md"


def test_every_python_example_in_the_formats_doc_runs(
    running: RunningCentre, tmp_path: Path
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) >= 4  # Qiskit, QPY, Braket, pyqpanda3
    script = tmp_path / "examples.py"
    script.write_text("\n".join(blocks))
    env = {"QHARBOR_URL": running.url, "QHARBOR_TOKEN": running.token, "PATH": "/usr/bin:/bin"}
    env["QHARBOR_ACCOUNT_FILE"] = str(tmp_path / "accounts.json")
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Each example printed its counts; the Bell pairs only ever give 00 and 11.
    assert done.stdout.count("'00'") >= 4, done.stdout


def test_the_openqasm3_example_in_the_formats_doc_parses() -> None:
    text = DOC.read_text()
    source = re.search(r"<<'EOF'\n(.*?)EOF", text, re.DOTALL)
    assert source is not None
    program = parse_program(source[1])
    assert {"if_else", "for_loop"} <= set(program.circuit.count_ops())
