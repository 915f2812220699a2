"""Cryptography: Shor factoring, Grover key search, and random numbers from a device.

**Shor.** Order finding for ``a`` modulo ``N`` with ``2n`` counting qubits and an
``n``-qubit work register (``n`` bits of ``N``). The controlled multiplications
by ``a^(2^j) mod N`` are built exactly, as reversible permutations of the work
register's basis states (each a product of transpositions, each transposition a
CNOT ladder around one multi-controlled X). This is a *compiled* construction:
the multipliers are computed classically from ``a`` and ``N``, as every
demonstration at this size does, but nothing uses the order being sought. The
order is read from the counting register by continued fractions, and the factors
are ``gcd(a^(r/2) ± 1, N)``. Trial division is the classical reference.

**Grover.** A toy cipher ``E_k(p) = S(p ⊕ k)`` on ``bits``-bit blocks and keys (``S``
is the PRESENT S-box for 4 bits, a fixed permutation otherwise). From one known
plaintext and ciphertext, the oracle marks the key that encrypts one to the
other: XOR the plaintext in, apply ``S`` as a permutation, flip the phase where
the register equals the ciphertext, and undo. Trying every key is the reference.

**Random numbers.** ``width`` qubits in superposition, measured one shot at a
time (one experiment per shot, so the bits keep their order), tested with
:mod:`qharbor.apps.randomness` beside the same number of bits from the
operating system's generator. On a simulator the bits come from the engine's
seeded generator, which the centre seeds afresh for each job; on a QPU they come
from measurement.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from qharbor.apps import randomness

if TYPE_CHECKING:
    from qharbor.runtime.program import Quantum

_BASIS = ["cx", "u"]
#: Experiments in one random-number job (a centre takes up to 1000 programs a job).
_EXPERIMENTS_PER_JOB = 500

#: The PRESENT block cipher's 4-bit S-box.
PRESENT_SBOX = (0xC, 0x5, 0x6, 0xB, 0x9, 0x0, 0xA, 0xD, 0x3, 0xE, 0xF, 0x8, 0x4, 0x7, 0x1, 0x2)


# --- reversible permutations ---------------------------------------------------------------


def _transposition(
    circuit: Any, register: Sequence[int], x: int, y: int, controls: Sequence[int]
) -> None:
    """Swap basis states ``x`` and ``y`` of ``register`` (bit i on ``register[i]``)."""
    differ = [i for i in range(len(register)) if (x ^ y) >> i & 1]
    pivot, rest = differ[0], differ[1:]
    # Where the pivot bit is 1, flip the other differing bits: y then agrees with x
    # everywhere but the pivot, and only the pair {x, y} meets the X's condition.
    for d in rest:
        circuit.cx(register[pivot], register[d])
    base = x if not x >> pivot & 1 else y  # the one the CNOTs leave alone
    others = [i for i in range(len(register)) if i != pivot]
    zeros = [register[i] for i in others if not base >> i & 1]
    if zeros:
        circuit.x(zeros)
    circuit.mcx([*controls, *(register[i] for i in others)], register[pivot])
    if zeros:
        circuit.x(zeros)
    for d in reversed(rest):
        circuit.cx(register[pivot], register[d])


def permutation(
    circuit: Any, register: Sequence[int], image: Sequence[int], controls: Sequence[int] = ()
) -> None:
    """Append ``|x⟩ → |image[x]⟩`` on ``register``, controlled by ``controls`` (all 1)."""
    seen = [False] * len(image)
    for start in range(len(image)):
        if seen[start]:
            continue
        cycle = [start]
        seen[start] = True
        while not seen[image[cycle[-1]]]:
            cycle.append(image[cycle[-1]])
            seen[cycle[-1]] = True
        # (c0 c1 ... cm) = τ(c0, c1), then τ(c0, c2), ..., in time order.
        for other in cycle[1:]:
            _transposition(circuit, register, cycle[0], other, controls)


# --- Shor ----------------------------------------------------------------------------------


def order_finding_circuit(a: int, modulus: int) -> Any:
    """Phase estimation of multiplication by ``a`` mod ``modulus``, counting bits measured."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
    from qiskit.circuit.library import QFTGate

    n = modulus.bit_length()
    t = 2 * n
    counting, work = QuantumRegister(t, "count"), QuantumRegister(n, "work")
    circuit = QuantumCircuit(counting, work, ClassicalRegister(t, "c"), name=f"order-{a}-{modulus}")
    circuit.h(counting)
    circuit.x(work[0])  # |1⟩
    for j in range(t):
        multiplier = pow(a, 2**j, modulus)
        if multiplier == 1:
            continue
        image = [(multiplier * x) % modulus if x < modulus else x for x in range(2**n)]
        permutation(circuit, list(work), image, controls=[counting[j]])
    circuit.append(QFTGate(t).inverse(), counting)
    circuit.measure(counting, circuit.clbits)
    return transpile(circuit, basis_gates=_BASIS, optimization_level=1)


def _order_from(measured: int, bits: int, a: int, modulus: int) -> int | None:
    denominator = Fraction(measured, 2**bits).limit_denominator(modulus).denominator
    for multiple in range(1, 4):
        r = denominator * multiple
        if pow(a, r, modulus) == 1:
            return r
    return None


def trial_division(number: int) -> list[int]:
    """The prime factors of ``number``, the classical reference."""
    factors, d = [], 2
    while d * d <= number:
        while number % d == 0:
            factors.append(d)
            number //= d
        d += 1
    if number > 1:
        factors.append(number)
    return factors


def factor(
    quantum: Quantum, number: int, a: int | None = None, *, shots: int = 256
) -> dict[str, Any]:
    """Factor ``number`` (15 or 21, or any small odd composite) with Shor's algorithm.

    Args:
        a: the base; by default 7 for 15, 2 for 21, else the smallest that works.
        shots: shots of the one order-finding job.

    Returns:
        ``factors``, ``order``, ``base``, the ``reference`` (trial division), whether
        they ``agree``, and ``success_probability`` (the share of shots whose
        reading alone gave the order).
    """
    if number < 15 or number % 2 == 0 or number.bit_length() > 6:
        raise ValueError(
            "factor odd composites from 15 to 63; larger ones need more qubits "
            "than a simulator holds"
        )
    reference = trial_division(number)
    if len(reference) == 1:
        raise ValueError(f"{number} is prime")
    a = (
        a
        or {15: 7, 21: 2}.get(number)
        or next(b for b in range(2, number) if math.gcd(b, number) == 1)
    )
    if math.gcd(a, number) != 1:
        raise ValueError(
            f"the base {a} shares the factor {math.gcd(a, number)} with {number}; pick another"
        )
    circuit = order_finding_circuit(a, number)
    t = circuit.num_clbits
    counts = quantum.sample([circuit], shots)[0]
    orders: dict[int, int] = {}
    for key, n in counts.items():
        r = _order_from(int(key.replace(" ", ""), 2), t, a, number)
        if r is not None:
            orders[r] = orders.get(r, 0) + n
    factors: list[int] = []
    order = min(orders) if orders else None
    if order is not None and order % 2 == 0 and pow(a, order // 2, number) != number - 1:
        half = pow(a, order // 2, number)
        found = sorted({math.gcd(half - 1, number), math.gcd(half + 1, number)} - {1, number})
        if found:
            factors = sorted([found[0], number // found[0]])
    true_order = next(r for r in range(1, number) if pow(a, r, number) == 1)
    return {
        "number": number,
        "base": a,
        "order": order,
        "factors": factors,
        "reference": reference,
        "agree": len(factors) == 2 and math.prod(factors) == number,
        "reference_order": true_order,
        "success_probability": orders.get(true_order, 0) / shots,
        "counts": counts,
        "counting_bits": t,
    }


# --- Grover key search -----------------------------------------------------------------------


def sbox(bits: int) -> list[int]:
    """The toy cipher's S-box on ``bits``-bit values."""
    if bits == 4:
        return list(PRESENT_SBOX)
    return [int(v) for v in np.random.default_rng(bits).permutation(2**bits)]


def encrypt(key: int, plaintext: int, bits: int) -> int:
    """``E_k(p) = S(p ⊕ k)``."""
    return sbox(bits)[plaintext ^ key]


def key_search_circuit(plaintext: int, ciphertext: int, bits: int) -> Any:
    """Grover's search for the key, with ``⌊π/4·√2^bits⌋`` iterations, key measured."""
    from qiskit import QuantumCircuit, transpile

    table = sbox(bits)
    inverse = [0] * len(table)
    for x, y in enumerate(table):
        inverse[y] = x
    key = list(range(bits))
    xor = [i for i in key if plaintext >> i & 1]
    zeros = [i for i in key if not ciphertext >> i & 1]

    oracle = QuantumCircuit(bits, name="oracle")
    if xor:
        oracle.x(xor)
    permutation(oracle, key, table)
    if zeros:
        oracle.x(zeros)
    oracle.h(bits - 1)
    oracle.mcx(key[:-1], bits - 1)
    oracle.h(bits - 1)
    if zeros:
        oracle.x(zeros)
    permutation(oracle, key, inverse)
    if xor:
        oracle.x(xor)

    diffusion = QuantumCircuit(bits, name="diffusion")
    diffusion.h(key)
    diffusion.x(key)
    diffusion.h(bits - 1)
    diffusion.mcx(key[:-1], bits - 1)
    diffusion.h(bits - 1)
    diffusion.x(key)
    diffusion.h(key)

    circuit = QuantumCircuit(bits, name="key-search")
    circuit.h(key)
    for _ in range(int(math.pi / 4 * math.sqrt(2**bits))):
        circuit.compose(oracle, inplace=True)
        circuit.compose(diffusion, inplace=True)
    circuit.measure_all()
    return transpile(circuit, basis_gates=_BASIS, optimization_level=1)


def search_key(
    quantum: Quantum, plaintext: int, ciphertext: int, *, bits: int = 4, shots: int = 256
) -> dict[str, Any]:
    """The key that encrypts ``plaintext`` to ``ciphertext``, by Grover's search.

    Returns:
        ``key`` (the most frequent reading), ``verified`` (it does encrypt the pair),
        ``reference`` (every key that does, by trying all), ``agree``,
        ``success_probability`` and ``iterations``.
    """
    if not 2 <= bits <= 8:
        raise ValueError("key search takes keys of 2 to 8 bits")
    if not (0 <= plaintext < 2**bits and 0 <= ciphertext < 2**bits):
        raise ValueError(f"plaintext and ciphertext must be {bits}-bit values")
    counts = quantum.sample([key_search_circuit(plaintext, ciphertext, bits)], shots)[0]
    reading = max(counts, key=counts.__getitem__)
    key = int(reading.replace(" ", ""), 2)
    reference = [k for k in range(2**bits) if encrypt(k, plaintext, bits) == ciphertext]
    return {
        "key": key,
        "verified": encrypt(key, plaintext, bits) == ciphertext,
        "reference": reference,
        "agree": reference == [key],
        "success_probability": counts[reading] / sum(counts.values()),
        "iterations": int(math.pi / 4 * math.sqrt(2**bits)),
        "counts": counts,
    }


# --- random numbers --------------------------------------------------------------------------


def random_bits(quantum: Quantum, count: int, *, width: int = 16) -> list[int]:
    """``count`` bits from the device: ``width`` qubits measured once per experiment."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(width, name="random")
    circuit.h(range(width))
    circuit.measure_all()
    experiments = math.ceil(count / width)
    bits: list[int] = []
    for start in range(0, experiments, _EXPERIMENTS_PER_JOB):
        chunk = min(_EXPERIMENTS_PER_JOB, experiments - start)
        for counts in quantum.sample([circuit] * chunk, 1):
            (reading,) = counts
            bits.extend(int(c) for c in reversed(reading.replace(" ", "")))
    return bits[:count]


def random_numbers(quantum: Quantum, count: int = 10_000, *, width: int = 16) -> dict[str, Any]:
    """Random bits from the device, with the statistical suite's P-values beside those of
    as many bits from the operating system's generator.

    Returns:
        ``bits`` (hex), ``p_values``, ``reference_p_values``, ``passed`` (every
        P-value ≥ 0.01) and ``reference_passed``.
    """
    if count < 1000:
        raise ValueError("test at least 1000 bits; the suite's tests need them")
    bits = random_bits(quantum, count, width=width)
    reference = [secrets.randbits(1) for _ in range(count)]
    p_values = randomness.suite(bits)
    reference_p_values = randomness.suite(reference)
    return {
        "bits": hex(int("".join(map(str, bits)), 2)),
        "count": count,
        "p_values": p_values,
        "reference_p_values": reference_p_values,
        "passed": all(p >= randomness.SIGNIFICANCE for p in p_values.values()),
        "reference_passed": all(p >= randomness.SIGNIFICANCE for p in reference_p_values.values()),
    }
