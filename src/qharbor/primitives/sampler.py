"""The Sampler primitive, run in a worker.

Each PUB's circuit is compiled once and run once per binding with the engine
binding the values. The result keeps, per binding, the counts of the whole
classical state (registers separated by spaces, the last register leftmost, as
Qiskit prints them), so the client can rebuild each register's bits shot by
shot with the registers still joined.
"""

from __future__ import annotations

import math
from typing import Any

from qharbor.devices import Device
from qharbor.engines import Experiment
from qharbor.engines.selection import Picker
from qharbor.primitives.pubs import parameter_array
from qharbor.programs import parse_circuit


def run_sampler(
    device: Device,
    engine: Any,
    pubs: list[dict[str, Any]],
    seed: int,
    compile_for: Any,
) -> list[dict[str, Any]]:
    """Run sampler PUBs; return one ``{"counts", "registers", "shape", "shots"}`` per PUB.

    ``engine`` is an engine, or a :class:`~qharbor.engines.selection.Picker` that
    chooses one per PUB; the PUB's result names the engine that ran it.
    """
    picker = Picker.of(engine)
    results = []
    next_seed = seed
    for pub in pubs:
        circuit = parse_circuit(pub["circuit"], pub["format"]).circuit
        compiled = compile_for(device, circuit, seed)
        names = pub["parameter_names"]
        shape = tuple(pub["shape"])
        size = math.prod(shape)
        if names:
            values = parameter_array(pub["parameter_values"], shape, len(names))
            rows = values.reshape(-1, len(names))
            experiments = [
                Experiment(
                    compiled,
                    tuple(dict(zip(names, map(float, row), strict=True)) for row in rows),
                )
            ]
        else:
            experiments = [Experiment(compiled)] * size
        runner, choice = picker.pick(compiled, shots=pub["shots"], runs=size, batch=len(pubs))
        runs = runner.run(
            experiments,
            method=device.method,
            shots=pub["shots"],
            seed=next_seed,
            precision=choice.precision,
        )
        next_seed += size
        counts = [outcome.counts for run in runs for outcome in run]
        results.append(
            {
                "shape": list(shape),
                "shots": pub["shots"],
                "registers": [{"name": r.name, "num_bits": r.size} for r in circuit.cregs],
                "counts": counts,
                "engine": choice.engine,
            }
        )
    return results
