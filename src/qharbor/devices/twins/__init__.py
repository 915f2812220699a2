"""Device twins: the shipped twin files and what they describe.

- :mod:`~qharbor.devices.twins.spec`: a twin file (TOML) read and checked into a ``TwinSpec``;
- :mod:`~qharbor.devices.twins.calibration`: calibration snapshots and their drift;
- :mod:`~qharbor.devices.twins.telemetry`: cryostat readings and injected faults;
- :mod:`~qharbor.devices.twins.document`: the typed twin document a client downloads;
- :mod:`~qharbor.devices.twins.target`, :mod:`~qharbor.devices.twins.timing` and
  :mod:`~qharbor.devices.twins.mitigation`: the device's Qiskit target, its timing
  model and readout mitigation, all read from a twin document.

The twin's noise (Aer) lives with the engines: :mod:`qharbor.engines.noise` and
:mod:`qharbor.engines.twin`. The TOML files in this folder are the built-in devices.
"""
