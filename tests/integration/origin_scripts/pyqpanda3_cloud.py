"""A pyqpanda3 cloud script, written the way pyqpanda3's documentation writes one."""

import time

from pyqpanda3.core import CNOT, RX, H, QProg, measure
from pyqpanda3.qcloud import DataBase, JobStatus, QCloudOptions, QCloudService

service = QCloudService(api_key="YOUR_API_KEY")
backends = service.backends()
print(backends)

# A Bell pair and a rotated third qubit.
prog = QProg()
prog << H(0) << CNOT(0, 1) << RX(2, 0.6) << measure([0, 1, 2], [0, 1, 2])

# The full-amplitude simulator.
backend = service.backend("full_amplitude")
job = backend.run(prog, 1000)
print(job.job_id())
result = job.result()
counts = result.get_counts()
probs = result.get_probs()
hex_counts = result.get_counts(DataBase.Hex)
print(counts, probs)

# The superconducting chip: its calibration, then a run with chip options.
chip = service.backend("origin_wukong")
info = chip.chip_info()
print(info.chip_id(), info.qubits_num(), info.get_basic_gates())
topology = info.get_chip_topology()
available = info.available_qubits()
single = info.single_qubit_info()
double = info.double_qubits_info()
for qubit in single[:3]:
    print(qubit.get_qubit_id(), qubit.get_single_gate_fidelity(), qubit.get_readout_fidelity())
for pair in double[:3]:
    print(pair.get_qubits(), pair.get_fidelity())

options = QCloudOptions()
options.set_amend(False)
options.set_mapping(True)
options.set_optimization(True)
chip_job = chip.run(prog, 1000, options)
while chip_job.status() not in (JobStatus.FINISHED, JobStatus.FAILED):
    time.sleep(0.5)
chip_result = chip_job.result()
chip_counts = chip_result.get_counts()
print(chip_result.job_status(), chip_counts)

# Several programs in one job.
batch = [QProg() << H(0) << measure(0, 0), QProg() << RX(0, 3.0) << measure(0, 0)]
batch_counts = backend.run(batch, 500).result().get_counts_list()
print(batch_counts)
