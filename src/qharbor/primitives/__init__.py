"""The Sampler and Estimator primitives, executed in the centre.

``pubs`` checks and normalises primitive unified blocs (PUBs) before a job is
queued; ``sampler`` and ``estimator`` run them in a worker; ``observables``
holds the Pauli algebra (parsing, qubit-wise commuting groups, estimates).
"""

from __future__ import annotations

from qharbor.primitives.pubs import KINDS, PreparedPubs, prepare_pubs

__all__ = ["KINDS", "PreparedPubs", "prepare_pubs"]
