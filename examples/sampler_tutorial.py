# ruff: noqa: I001
"""Qiskit's "hello world", run on a qharbor centre.

This is the usual primitives tutorial: build a circuit, transpile it for the
backend with a preset pass manager, sample it with ``SamplerV2`` and estimate
observables with ``EstimatorV2``. Only the two marked lines differ from the
version written for IBM's runtime.

    QHARBOR_URL=http://127.0.0.1:8000 QHARBOR_TOKEN=qh_... python examples/sampler_tutorial.py

Without the variables the saved account (``qharbor login``) is used.
``QHARBOR_DEVICE`` picks another device than ``statevector``.
"""

import os

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

# The two lines that change: the primitives' import, and where the backend comes from.
from qharbor.qiskit import EstimatorV2 as Estimator, QHarborProvider, SamplerV2 as Sampler

backend = QHarborProvider().backend(os.environ.get("QHARBOR_DEVICE", "statevector"))

# 1. Map the problem to a quantum-native format: a Bell pair.
qc = QuantumCircuit(2)
qc.h(0)
qc.cx(0, 1)
observables_labels = ["IZ", "IX", "ZI", "XI", "ZZ", "XX"]
observables = [SparsePauliOp(label) for label in observables_labels]

# 2. Optimise for the target hardware.
pm = generate_preset_pass_manager(backend=backend, optimization_level=1)
measured = qc.copy()
measured.measure_all()
isa_circuit = pm.run(measured)
isa_estimator_circuit = pm.run(qc)
mapped_observables = [
    observable.apply_layout(isa_estimator_circuit.layout) for observable in observables
]

# 3. Execute with the primitives.
sampler = Sampler(mode=backend)
sampler.options.default_shots = 1000
job = sampler.run([isa_circuit])
print(f">>> Job ID: {job.job_id()}")
result = job.result()
counts = result[0].data.meas.get_counts()
print(f">>> Counts: {counts}")

estimator = Estimator(mode=backend)
pub_result = estimator.run([(isa_estimator_circuit, mapped_observables)]).result()[0]

# 4. Post-process.
for label, value, std in zip(
    observables_labels, pub_result.data.evs, pub_result.data.stds, strict=True
):
    print(f">>> <{label}> = {value:+.4f} ± {std:.4f}")
