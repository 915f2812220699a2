"""The field names of a result document, shared by the centre and the client.

The centre builds results (:mod:`qharbor.jobs.result`) and the client reads them
(:mod:`qharbor.client.results`) from these same names. Fields outside them are
carried along unchanged, so both sides keep what the other adds. No imports
beyond the standard library: the client installs without the server.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: The fields of one experiment (one circuit run) every result row carries.
EXPERIMENT_FIELDS = (
    "program",
    "name",
    "parameters",
    "counts",
    "shots",
    "seed",
    "num_qubits",
    "num_clbits",
    "depth",
    "run_s",
)

#: The fields of every result document.
RESULT_FIELDS = ("job_id", "device", "shots", "experiments", "timings", "metadata")

#: The fields a primitive (sampler, estimator) job's result adds.
PRIMITIVE_FIELDS = ("kind", "pubs")

#: The timings every worker measures (seconds); the store adds ``queued_s`` and
#: ``total_s``, a device twin ``qpu_s``.
TIMING_FIELDS = ("compile_s", "run_s", "qpu_s", "queued_s", "total_s")

#: The reproducibility record's fields on every result (its ``metadata``).
RECORD_FIELDS = (
    "engine",
    "engine_reason",
    "precision",
    "method",
    "seed",
    "attempt",
    "options",
    "versions",
)


def extra(data: dict[str, Any], known: Iterable[str]) -> dict[str, Any]:
    """The items of ``data`` whose keys are not in ``known``, in their order."""
    names = set(known)
    return {key: value for key, value in data.items() if key not in names}
