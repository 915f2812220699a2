"""Job options: how a job asks to be compiled, run and post-processed.

Options are one frozen value stored with the job (the ``options`` column), so a
new option is one new field here and in the request schema.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class JobOptions:
    """Options of one job.

    Attributes:
        optimization_level: the transpiler's optimisation level (0 to 3) when the
            centre compiles for a device twin.
        skip_compilation: run the programs as sent; they must then be in the
            device's native instructions on coupled qubits (ISA circuits).
        mitigate_readout: also return readout-mitigated quasi-probabilities,
            from the calibration's assignment matrices (device twins).
        engine: ``"auto"`` to let the centre pick the fastest engine per circuit,
            or a registered engine's name to pin it.
        precision: ``"double"`` (the default) runs only engines that compute in
            double precision; ``"single"`` also allows single-precision engines.
    """

    optimization_level: int = 1
    skip_compilation: bool = False
    mitigate_readout: bool = False
    engine: str = "auto"
    precision: str = "double"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> JobOptions:
        """Options from stored JSON; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})
