"""Turn what a user hands to ``HarborService.run`` into the API's program objects.

Accepted: program text (``str``), the API's program object (``dict``), a file
path (``pathlib.Path``), a ``qiskit.QuantumCircuit``, or a list of these.

Qiskit is never imported here unless the caller already has: a circuit can only
exist if ``qiskit`` is in ``sys.modules``, so the client stays installable
without it.
"""

from __future__ import annotations

import base64
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qharbor import errors

# File suffix to the API's "format"; "auto" reads the OPENQASM version line.
FORMATS_BY_SUFFIX = {
    ".qasm": "auto",
    ".qasm2": "qasm2",
    ".qasm3": "qasm3",
    ".ir": "originir",
    ".originir": "originir",
    ".qpy": "qpy",
}


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The API format for a program file, from its suffix (``auto`` when unknown)."""
    return FORMATS_BY_SUFFIX.get(Path(path).suffix.lower(), "auto")


def program_from_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The API's program object for a file: its text, format and file name.

    Raises:
        errors.InvalidRequest: The file cannot be read as UTF-8 text.
    """
    file = Path(path)
    fmt = format_for_path(file)
    try:
        if fmt == "qpy":  # binary: sent as base64 text
            source = base64.b64encode(file.read_bytes()).decode()
        else:
            source = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.InvalidRequest(
            f"cannot read program file {file}: {exc}", path=str(file)
        ) from exc
    return {"source": source, "format": fmt, "name": file.stem}


def build_programs(programs: Any, parameters: Sequence[Any] | None = None) -> list[dict[str, Any]]:
    """The ``programs`` list of a job submission.

    Args:
        programs: One program or a list of programs, in any accepted form.
        parameters: Bindings applied to every program that does not carry its
            own. Each is a list of values or a ``{name: value}`` object. For
            program text a list follows the parameters sorted by name (the API's
            rule); for a ``QuantumCircuit`` it follows ``circuit.parameters``
            (Qiskit's rule), and names are the circuit's parameter names.

    Raises:
        errors.InvalidRequest: A program is of a type the client cannot send.
        errors.ProgramParameters: A binding does not fit a circuit's parameters.
    """
    items = list(programs) if isinstance(programs, list | tuple) else [programs]
    if not items:
        raise errors.InvalidRequest("a job needs at least one program")
    built: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        program, exported = _program(item, index)
        if parameters is not None and "parameters" not in program:
            program["parameters"] = [
                _binding(binding, exported, index, number)
                for number, binding in enumerate(parameters)
            ]
        built.append(program)
    return built


def _program(item: Any, index: int) -> tuple[dict[str, Any], dict[str, str] | None]:
    """The program object, and for a circuit its parameter names as exported."""
    if isinstance(item, str):
        return {"source": item}, None
    if isinstance(item, Path):
        return program_from_file(item), None
    if isinstance(item, dict):
        if not isinstance(item.get("source"), str):
            raise errors.InvalidRequest(
                f"program {index}: a program object needs a 'source' string", program=index
            )
        return dict(item), None
    if _is_quantum_circuit(item):
        return _from_circuit(item)
    raise errors.InvalidRequest(
        f"program {index}: cannot send a {type(item).__name__}; pass OpenQASM text, a "
        "program object {'source': ...}, a pathlib.Path or a qiskit.QuantumCircuit",
        program=index,
    )


def _is_quantum_circuit(item: Any) -> bool:
    qiskit = sys.modules.get("qiskit")
    circuit_type = getattr(qiskit, "QuantumCircuit", None)
    return isinstance(circuit_type, type) and isinstance(item, circuit_type)


# The exporter declares one input per circuit parameter, in ``circuit.parameters`` order.
_INPUT = re.compile(r"^\s*input\s+float\[64\]\s+([A-Za-z_][A-Za-z0-9_]*)\s*;", re.MULTILINE)


def _from_circuit(circuit: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """OpenQASM 3 for a circuit, and each parameter's name in that text.

    The exporter renames parameters that clash with gate names (``t`` becomes
    ``t_0``) or are not identifiers (``theta[0]`` becomes ``_theta_0_``), so
    bindings are sent by exported name.
    """
    from qiskit import qasm3  # the caller already imported qiskit to build the circuit

    source = qasm3.dumps(circuit)
    program: dict[str, Any] = {"source": source, "format": "qasm3"}
    if getattr(circuit, "name", None):
        program["name"] = circuit.name
    names = [parameter.name for parameter in circuit.parameters]
    exported = _INPUT.findall(source)
    if len(exported) != len(names):  # an exporter we do not know: trust the names
        exported = names
    return program, dict(zip(names, exported, strict=True))


def _binding(
    binding: Any, exported: dict[str, str] | None, program: int, number: int
) -> list[float] | dict[str, float]:
    if exported is None:
        if isinstance(binding, dict):
            return {str(k): float(v) for k, v in binding.items()}
        if isinstance(binding, int | float):
            return [float(binding)]
        return [float(v) for v in binding]
    # A circuit: always send {exported name: value}, since the centre sorts names.
    names = list(exported)
    if isinstance(binding, dict):
        values = {str(getattr(k, "name", k)): float(v) for k, v in binding.items()}
        return {exported.get(name, name): value for name, value in values.items()}
    items = [binding] if isinstance(binding, int | float) else list(binding)
    if len(items) != len(names):
        raise errors.ProgramParameters(
            f"program {program}: binding {number} has {len(items)} values, but the circuit "
            f"has {len(names)} parameters ({', '.join(names) or 'none'}), in that order",
            program=program,
            binding=number,
        )
    return {exported[name]: float(value) for name, value in zip(names, items, strict=True)}
