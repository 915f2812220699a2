# ruff: noqa: E501, I001
# fmt: off
"""Sampler and Estimator with options, written the way IBM's runtime docs write them.

``original.py`` runs on IBM's runtime (qiskit-ibm-runtime);
``primitives_with_options.py`` is the same script for a qharbor centre, and the
lines ending ``# qharbor: changed`` are the only ones that differ (the test
suite compares the two files). Run it with

    QHARBOR_URL=http://127.0.0.1:8000 QHARBOR_TOKEN=qh_... python examples/ibm_runtime/primitives_with_options.py
"""

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import real_amplitudes
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime import EstimatorV2 as Estimator, QiskitRuntimeService, SamplerV2 as Sampler, Session

service = QiskitRuntimeService()
backend = service.least_busy(operational=True, simulator=False)

# A Bell pair, sampled with options set one by one.
bell = QuantumCircuit(2)
bell.h(0)
bell.cx(0, 1)
bell.measure_all()

pm = generate_preset_pass_manager(backend=backend, optimization_level=1)
isa_bell = pm.run(bell)

sampler = Sampler(mode=backend)
sampler.options.default_shots = 1000
sampler.options.dynamical_decoupling.enable = True
sampler.options.dynamical_decoupling.sequence_type = "XpXm"
sampler.options.twirling.enable_gates = True
sampler.options.environment.job_tags = ["bell-with-options"]

job = sampler.run([isa_bell])
print(f">>> Job ID: {job.job_id()}")
counts = job.result()[0].data.meas.get_counts()
print(f">>> Counts: {counts}")

# An ansatz's energy, estimated in a session with options given as a dict.
ansatz = real_amplitudes(2, reps=1)
hamiltonian = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5), ("IY", -0.25)])
isa_ansatz = pm.run(ansatz)
isa_hamiltonian = hamiltonian.apply_layout(isa_ansatz.layout)
params = np.linspace(0.1, 0.8, ansatz.num_parameters)

with Session(backend=backend) as session:
    estimator = Estimator(mode=session, options={"default_shots": 4000, "resilience_level": 1})
    estimator.options.seed_estimator = 1234
    estimator.options.resilience.measure_mitigation = True
    estimator.options.update(max_execution_time=300)
    pub_result = estimator.run([(isa_ansatz, isa_hamiltonian, params)]).result()[0]

print(f">>> Energy: {float(pub_result.data.evs):.6f}")
print(f">>> Standard error: {float(pub_result.data.stds):.6f}")
