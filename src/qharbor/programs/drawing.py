"""Programs drawn as text, with Qiskit's text drawer: what the console shows.

A stored program is text a stranger sent, so it is parsed again here within the
same limits as at submission; the console calls :func:`draw` in the parser sandbox.
"""

from __future__ import annotations

from qharbor.programs.intake import parse_circuit
from qharbor.programs.limits import DEFAULT_LIMITS, Limits

#: The most characters of drawing returned; a larger one is cut, saying so.
MAX_DRAWING_CHARS = 200_000
#: The width, in characters, at which long circuits fold onto the next rows.
FOLD = 120


def draw(source: str, fmt: str = "auto", limits: Limits = DEFAULT_LIMITS) -> str:
    """The program's circuit as Qiskit's text drawing.

    Raises:
        errors.ProgramError: the program does not parse within the limits.
    """
    circuit = parse_circuit(source, fmt, limits).circuit
    text = str(circuit.draw(output="text", fold=FOLD, idle_wires=False))
    if len(text) > MAX_DRAWING_CHARS:
        text = text[:MAX_DRAWING_CHARS] + "\n... (drawing cut: the circuit is too large to show)"
    return text
