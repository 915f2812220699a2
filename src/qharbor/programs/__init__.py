"""Program intake: every accepted format becomes a Qiskit ``QuantumCircuit``.

Parsing never executes anything, and every rejection is a ``ProgramError``
with a stable code and, where the format allows, a line and column.
"""

from __future__ import annotations

from qharbor.programs.intake import FORMATS, Program, parse_circuit, parse_program

__all__ = ["FORMATS", "Program", "parse_circuit", "parse_program"]
