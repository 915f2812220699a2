"""Error mitigation, applied by the centre to primitive jobs on device twins.

One module per method: ``dd`` (dynamical decoupling), ``twirling`` (Pauli
twirling of gates and measurements), ``zne`` (gate folding and extrapolation),
``readout`` (TREX factors, and M3 for the sampler). ``estimation`` runs a
mitigated estimator PUB with them and records what it did.
"""

from __future__ import annotations
