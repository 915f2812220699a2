"""Origin's own implementation (pyqpanda3) as the reference for OriginIR programs.

Straight-line programs are compared by their unitaries. pyqpanda3 0.5.1 does
not take QIF/QWHILE branches read from OriginIR text, and samples one RESET
outcome per run rather than per shot, so programs with measurement, RESET or
classical control are instead evaluated exactly here: every measurement splits
the state into its branches, and each branch's gates come from pyqpanda3's
unitary for that stretch of straight-line OriginIR.
"""

from __future__ import annotations

import numpy as np
import pyqpanda3.intermediate_compiler as ic
import pyqpanda3.quantum_info as qi


def unitary(source: str) -> np.ndarray:
    """pyqpanda3's unitary of a straight-line OriginIR program (qubit 0 least significant)."""
    program = ic.convert_originir_string_to_qprog(source)
    return np.array(qi.Unitary(program.to_circuit()).ndarray())


def _header(source: str) -> tuple[int, int, list[str]]:
    lines = [ln.strip() for ln in source.splitlines() if ln.strip()]
    qubits = int(lines[0].split()[1])
    clbits = int(lines[1].split()[1]) if lines[1].startswith("CREG") else 0
    body = lines[2:] if lines[1].startswith("CREG") else lines[1:]
    return qubits, clbits, body


def _condition(text: str, bits: tuple[int, ...]) -> bool:
    """``c[i]``, ``!c[i]``, or a list ``c[i],c[j]`` that holds when every bit is 1."""
    text = text.replace(" ", "")
    if "," in text:
        return all(_condition(part, bits) for part in text.split(","))
    negate = text.startswith("!")
    index = int(text.lstrip("!").removeprefix("c[").removesuffix("]"))
    return bool(bits[index]) != negate


class _Branches:
    """Weighted branches: (probability, state vector, classical bits)."""

    def __init__(self, qubits: int, clbits: int) -> None:
        self.n, self.m = qubits, clbits
        state = np.zeros(2**qubits, dtype=complex)
        state[0] = 1.0
        self.items: list[tuple[float, np.ndarray, tuple[int, ...]]] = [(1.0, state, (0,) * clbits)]

    def apply(self, lines: list[str]) -> None:
        if not lines:
            return
        # An identity on every qubit keeps pyqpanda3's unitary at full width.
        identities = [f"I q[{q}]" for q in range(self.n)]
        text = "\n".join([*identities, *lines])
        matrix = unitary(f"QINIT {self.n}\nCREG {max(1, self.m)}\n{text}\n")
        self.items = [(p, matrix @ s, b) for p, s, b in self.items]

    def measure(self, qubit: int, clbit: int | None) -> None:
        out = []
        mask = np.array([(i >> qubit) & 1 for i in range(2**self.n)])
        for p, state, bits in self.items:
            for outcome in (0, 1):
                projected = np.where(mask == outcome, state, 0)
                weight = float(np.vdot(projected, projected).real)
                if weight < 1e-12:
                    continue
                new_bits = list(bits)
                if clbit is not None:
                    new_bits[clbit] = outcome
                else:  # a reset: flip a measured 1 back to 0
                    flipped = np.zeros_like(projected)
                    for i in range(2**self.n):
                        flipped[i ^ (outcome << qubit)] = projected[i]
                    projected = flipped
                out.append((p * weight, projected / np.sqrt(weight), tuple(new_bits)))
        self.items = out

    def distribution(self) -> dict[str, float]:
        result: dict[str, float] = {}
        for p, _state, bits in self.items:
            key = "".join(str(b) for b in reversed(bits))
            result[key] = result.get(key, 0.0) + p
        return result


def exact_distribution(source: str, max_loops: int = 64) -> dict[str, float]:
    """The exact distribution of the classical register, keyed as Qiskit counts are."""
    qubits, clbits, body = _header(source)
    branches = _Branches(qubits, clbits)
    _run(body, branches, max_loops)
    return branches.distribution()


def _qubit(token: str) -> int:
    return int(token.strip().removeprefix("q[").removesuffix("]"))


def _run(lines: list[str], branches: _Branches, max_loops: int) -> None:
    pending: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        word = line.split()[0]
        if word in ("MEASURE", "RESET", "QIF", "QWHILE"):
            branches.apply(pending)
            pending = []
        if line == "MEASURE q,c":
            for q in range(branches.n):
                branches.measure(q, q)
        elif word == "MEASURE":
            q, c = line.split(None, 1)[1].split(",")
            branches.measure(_qubit(q), int(c.strip().removeprefix("c[").removesuffix("]")))
        elif word == "RESET":
            branches.measure(_qubit(line.split(None, 1)[1]), None)
        elif word in ("QIF", "QWHILE"):
            end = "QENDIF" if word == "QIF" else "QENDWHILE"
            j = lines.index(end, i)
            block = lines[i + 1 : j]
            condition = line.split(None, 1)[1]
            if word == "QIF":
                split = block.index("QELSE") if "QELSE" in block else len(block)
                taken, other = block[:split], block[split + 1 :]
                out = []
                for item in branches.items:
                    sub = _Branches(branches.n, branches.m)
                    sub.items = [item]
                    _run(taken if _condition(condition, item[2]) else other, sub, max_loops)
                    out.extend(sub.items)
                branches.items = out
            else:
                done = []
                active = branches.items
                for _ in range(max_loops):
                    looping = [b for b in active if _condition(condition, b[2])]
                    done.extend(b for b in active if not _condition(condition, b[2]))
                    if not looping:
                        break
                    sub = _Branches(branches.n, branches.m)
                    sub.items = looping
                    _run(block, sub, max_loops)
                    active = sub.items
                else:
                    done.extend(active)
                branches.items = done
            i = j
        else:
            pending.append(line)
        i += 1
    branches.apply(pending)


def qprog_text(program: object, precision: int = 17) -> str:
    """The OriginIR that pyqpanda3's own writer produces for a ``QProg``."""
    return str(ic.convert_qprog_to_originir(program, precision))


def qprog_statevector(program: object) -> np.ndarray:
    """pyqpanda3's CPUQVM state after a straight-line ``QProg`` (qubit 0 least significant)."""
    from pyqpanda3 import core

    machine = core.CPUQVM()
    machine.run(program, 1)
    return np.array(machine.result().get_state_vector())


def qprog_counts(program: object, shots: int) -> dict[str, int]:
    """pyqpanda3's CPUQVM counts: measured classical bits only, the highest on the left."""
    from pyqpanda3 import core

    machine = core.CPUQVM()
    machine.run(program, shots)
    return dict(machine.result().get_counts())
