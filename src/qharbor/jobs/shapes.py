"""Other shapes of a result document, for users coming from other clouds."""

from __future__ import annotations

from typing import Any

#: Result shapes a client may ask for; ``qharbor`` is the document as stored.
SHAPES = ("qharbor", "origin")


def origin_probabilities(counts: dict[str, int]) -> dict[str, float]:
    """Counts as Origin's cloud shows them: probabilities keyed by hex.

    The key is the outcome as an integer whose bit ``i`` is classical bit
    ``i``, so ``"0x3"`` means c[0]=1 and c[1]=1.
    """
    total = sum(counts.values())
    if not total:
        return {}
    out: dict[str, float] = {}
    for bits, count in sorted(counts.items(), key=lambda item: int(item[0].replace(" ", ""), 2)):
        out[hex(int(bits.replace(" ", ""), 2))] = count / total
    return out


def reshape(result: dict[str, Any], shape: str) -> dict[str, Any]:
    """The result document in the requested shape (a copy; the input is not changed)."""
    if shape != "origin":
        return result
    experiments = [
        {**row, "probabilities": origin_probabilities(row.get("counts", {}))}
        for row in result.get("experiments", [])
    ]
    return {**result, "experiments": experiments}
