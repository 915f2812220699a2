"""Algorithms for chemistry, finance, energy and cryptography, with classical references.

Each app runs its quantum half through a :class:`qharbor.runtime.program.Quantum`:
the centre's runtime when it runs as a centre program (``qharbor programs run``),
or :class:`qharbor.apps.quantum.ServiceQuantum` from a laptop against any centre.
Each returns its answer together with a classical reference and the gap between
them. They need the ``qiskit`` extra (and SciPy); plots need matplotlib.
"""
