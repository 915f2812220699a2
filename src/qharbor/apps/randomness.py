"""Statistical tests of random bits, after NIST SP 800-22 rev. 1a.

Four of the suite's tests: frequency (monobit), frequency within a block, runs,
and serial. Each returns a P-value; a sequence passes a test when its P-value is
at least the significance level (0.01 in the standard). The formulas are the
standard's, section 2; its worked examples are this module's tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.special import erfc, gammaincc

#: The standard's significance level.
SIGNIFICANCE = 0.01


def monobit(bits: Sequence[int]) -> float:
    """Frequency (monobit) test, SP 800-22 §2.1: are ones and zeros about as common?"""
    x = np.asarray(bits, dtype=np.int64)
    s = abs(int((2 * x - 1).sum())) / math.sqrt(len(x))
    return float(erfc(s / math.sqrt(2)))


def block_frequency(bits: Sequence[int], block: int = 128) -> float:
    """Frequency within a block, §2.2: is each ``block``-bit block about half ones?"""
    x = np.asarray(bits, dtype=np.int64)
    blocks = len(x) // block
    if blocks == 0:
        raise ValueError(f"need at least {block} bits")
    proportions = x[: blocks * block].reshape(blocks, block).mean(axis=1)
    chi2 = 4 * block * float(((proportions - 0.5) ** 2).sum())
    return float(gammaincc(blocks / 2, chi2 / 2))


def runs(bits: Sequence[int]) -> float:
    """Runs test, §2.3: do runs of equal bits switch as often as chance would have?"""
    x = np.asarray(bits, dtype=np.int64)
    n = len(x)
    pi = x.mean()
    if abs(pi - 0.5) >= 2 / math.sqrt(n):  # the frequency prerequisite fails
        return 0.0
    v = 1 + int((x[1:] != x[:-1]).sum())
    return float(erfc(abs(v - 2 * n * pi * (1 - pi)) / (2 * math.sqrt(2 * n) * pi * (1 - pi))))


def _psi2(x: np.ndarray, m: int) -> float:
    if m <= 0:
        return 0.0
    n = len(x)
    wrapped = np.concatenate([x, x[: m - 1]])
    patterns = np.zeros(n, dtype=np.int64)
    for i in range(m):
        patterns = (patterns << 1) | wrapped[i : i + n]
    frequencies = np.bincount(patterns, minlength=2**m)
    return float(2**m / n * (frequencies.astype(float) ** 2).sum() - n)


def serial(bits: Sequence[int], m: int = 4) -> tuple[float, float]:
    """Serial test, §2.11: are all overlapping ``m``-bit patterns about equally common?

    Returns the standard's two P-values.
    """
    x = np.asarray(bits, dtype=np.int64)
    psi_m, psi_1, psi_2 = _psi2(x, m), _psi2(x, m - 1), _psi2(x, m - 2)
    first = gammaincc(2 ** (m - 2), (psi_m - psi_1) / 2)
    second = gammaincc(2 ** (m - 3), (psi_m - 2 * psi_1 + psi_2) / 2)
    return float(first), float(second)


def suite(bits: Sequence[int]) -> dict[str, float]:
    """Every test's P-value (the serial test's smaller one)."""
    return {
        "monobit": monobit(bits),
        "block_frequency": block_frequency(bits),
        "runs": runs(bits),
        "serial": min(serial(bits)),
    }
