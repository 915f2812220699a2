"""Zero-noise extrapolation: folding two-qubit gates, and extrapolating to no noise.

A noise factor ``λ`` multiplies the number of two-qubit gates by ``λ``: each gate
``G`` becomes ``G (G† G)^k``, the same operation with ``2k`` more noisy gates.
Factors that are not odd integers fold a random share of the gates once more.
Folding follows compilation, so no transpiler pass cancels the folds. The idle
time the folds add amplifies idle noise as it would on the device.

Extrapolation is per Pauli term, from its values at each factor to factor 0:
polynomials by least squares (``linear`` is degree 1); ``exponential`` fits
``y = A·exp(-bλ)`` (a Pauli's value decays towards 0); ``double_exponential`` a
sum of two. The standard error is propagated through the fit.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit

#: A value extrapolated further than this from [-1, 1] is not believed.
_BOUND = 1.5


def fold(
    circuit: QuantumCircuit, factor: float, rng: np.random.Generator
) -> tuple[QuantumCircuit, float]:
    """The circuit with its two-qubit gates folded to about ``factor`` times their
    number, and the factor reached (folds come in pairs, so with few gates a
    factor that is not an odd integer is only approached)."""
    if factor <= 1.0:
        return circuit, 1.0
    two_qubit = [
        index
        for index, instruction in enumerate(circuit.data)
        if len(instruction.qubits) == 2 and instruction.operation.name not in ("barrier",)
    ]
    if not two_qubit:
        return circuit, 1.0
    extra = (factor - 1.0) / 2.0
    whole = math.floor(extra)
    partial = round(len(two_qubit) * (extra - whole))
    once_more = (
        set(rng.choice(two_qubit, size=partial, replace=False).tolist()) if partial else set()
    )
    folds = {index: whole + (1 if index in once_more else 0) for index in two_qubit}
    out = circuit.copy_empty_like()
    for index, instruction in enumerate(circuit.data):
        out.append(instruction)
        for _ in range(folds.get(index, 0)):
            out.append(instruction.operation.inverse(), instruction.qubits)
            out.append(instruction)
    reached = 1.0 + 2.0 * sum(folds.values()) / len(two_qubit)
    return out, reached


def two_qubit_count(circuit: QuantumCircuit) -> int:
    return sum(1 for i in circuit.data if len(i.qubits) == 2 and i.operation.name != "barrier")


def extrapolate(
    factors: Sequence[float],
    values: Sequence[float],
    stds: Sequence[float],
    extrapolators: Sequence[str],
) -> tuple[float, float, str]:
    """The value at zero noise, its standard error and the extrapolator used.

    Extrapolators are tried in order; the first whose result is finite and
    within ±1.5 (a Pauli term lies in [-1, 1]) is used. If none is, the value at
    the smallest factor is returned, with ``"none"``.
    """
    x = np.asarray(factors, dtype=float)
    y = np.asarray(values, dtype=float)
    s = np.asarray(stds, dtype=float)
    for name in extrapolators:
        result = _fit(name, x, y, s)
        if result is not None and math.isfinite(result[0]) and abs(result[0]) <= _BOUND:
            return result[0], result[1], name
    lowest = int(np.argmin(x))
    return float(y[lowest]), float(s[lowest]), "none"


def _fit(name: str, x: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[float, float] | None:
    if name == "linear":
        return _polynomial(x, y, s, 1)
    match = re.match(r"^polynomial_degree_(\d)$", name)
    if match:
        return _polynomial(x, y, s, int(match[1]))
    if name == "exponential":
        return _exponential(x, y, s)
    if name == "double_exponential":
        return _double_exponential(x, y, s)
    return None


def _polynomial(x: np.ndarray, y: np.ndarray, s: np.ndarray, degree: int) -> tuple[float, float]:
    """Least-squares polynomial at 0; its value is a fixed weighting of the points."""
    design = np.vander(x, degree + 1, increasing=True)
    weights = np.linalg.pinv(design)[0]  # row giving the constant coefficient
    return float(weights @ y), float(math.sqrt(float(np.sum((weights * s) ** 2))))


def _exponential(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[float, float] | None:
    """``A·exp(-bλ)`` by a line through ``log|y|``; all values must share one sign."""
    if np.any(y == 0) or not (np.all(y > 0) or np.all(y < 0)):
        return None
    sign = 1.0 if y[0] > 0 else -1.0
    logs = np.log(np.abs(y))
    intercept, log_std = _polynomial(x, logs, s / np.abs(y), 1)
    value = sign * math.exp(intercept)
    return value, abs(value) * log_std


def _double_exponential(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[float, float] | None:
    from scipy.optimize import OptimizeWarning, curve_fit

    def model(lam: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
        return a * np.exp(-b * lam) + c * np.exp(-d * lam)

    start = (float(y[0]) / 2, 0.1, float(y[0]) / 2, 1.0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, covariance = curve_fit(model, x, y, p0=start, maxfev=5000)
    except (RuntimeError, ValueError):
        return None
    value = float(params[0] + params[2])
    variance = float(covariance[0, 0] + covariance[2, 2] + 2 * covariance[0, 2])
    return value, math.sqrt(variance) if math.isfinite(variance) and variance >= 0 else math.nan
