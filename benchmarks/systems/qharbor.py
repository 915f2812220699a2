"""qharbor end to end: the SDK submits over HTTP to a local centre and waits.

The centre is started once per process, before any clock starts (see
``benchmarks.centre``). Each timed call writes the program text from the gate
list, submits it with ``HarborService`` and stops when the result is back in
the client. Sampling circuits travel as OpenQASM 2; the QFT and the ansatz as
OpenQASM 3 (they need Braket's result-type pragmas and ``input`` parameters).

The final state of the QFT stays on the centre: the program asks for the
amplitudes of a fixed set of basis states (``#pragma braket result
amplitude``), which are checked against the analytic values.
"""

from __future__ import annotations

import itertools
from importlib import metadata
from typing import Any

import numpy as np

from benchmarks.centre import LocalCentre
from benchmarks.circuits import ROTATIONS, Circuit
from qharbor import HarborService, errors


def versions() -> dict[str, str]:
    return {"qharbor": metadata.version("qharbor")}


def _line(name: str, qubits: tuple[int, ...], angle: str | None) -> str:
    args = ", ".join(f"q[{q}]" for q in qubits)
    return f"{name}({angle}) {args};" if angle is not None else f"{name} {args};"


#: Every program text ends with its own comment, so no timed run reuses a parse the
#: centre kept from the warm-up (it keeps parsed programs for texts sent again).
_SUBMISSIONS = itertools.count()


def _fresh() -> str:
    return f"// submission {next(_SUBMISSIONS)}\n"


def qasm2(circuit: Circuit) -> str:
    n = circuit.num_qubits
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];", f"creg c[{n}];"]
    for g in circuit.gates:
        name = "cu1" if g.name == "cp" else g.name
        lines.append(_line(name, g.qubits, repr(g.angle) if g.name in ROTATIONS else None))
    if circuit.measure:
        lines.append("measure q -> c;")
    return "\n".join(lines) + "\n" + _fresh()


def qasm3(circuit: Circuit, pragmas: tuple[str, ...] = ()) -> str:
    """OpenQASM 3; parameter k is ``input float[64] p{k:04d}``, so sorting keeps order."""
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    lines += [f"input float[64] {_param(k)};" for k in range(circuit.num_params)]
    lines.append(f"qubit[{circuit.num_qubits}] q;")
    for g in circuit.gates:
        angle = None
        if g.name in ROTATIONS:
            angle = repr(g.angle) if g.param is None else _param(g.param)
        lines.append(_line(g.name, g.qubits, angle))
    lines += list(pragmas)
    return "\n".join(lines) + "\n" + _fresh()


def _param(index: int) -> str:
    return f"p{index:04d}"


def _counts(counts: dict[str, int]) -> dict[int, int]:
    return {int(k.replace(" ", ""), 2): v for k, v in counts.items()}


class Runner:
    """A client of a freshly started local centre, on its ``statevector`` device.

    Args:
        precision: the job option ``precision`` sent with every job.
        separate_jobs: run a batch as one job per circuit instead of one job.
    """

    device = "statevector"

    def __init__(self, precision: str = "double", separate_jobs: bool = False) -> None:
        self.precision = precision
        self.separate_jobs = separate_jobs
        self.options: dict[str, Any] | None = {"precision": precision}
        self.notes: list[str] = []
        self.centre = LocalCentre()
        self.service = HarborService(self.centre.url, self.centre.token, timeout=600)

    def close(self) -> None:
        self.service.close()
        self.centre.close()

    # --- submission, tolerating a centre that does not know the options yet -------------

    def _run(self, programs: Any, **kwargs: Any) -> Any:
        # One request carries the job and, when it ends within the wait, its result.
        return self._submit(
            lambda options: self.service.run(programs, options=options, wait=60, **kwargs)
        )

    def _submit(self, send: Any) -> Any:
        try:
            return send(self.options)
        except errors.QHarborError as exc:
            if self.options is None or "options" not in str(exc):
                raise
            note = (
                f"this centre refused the job options {self.options} ({exc}); ran with its defaults"
            )
            if self.precision != "double":
                note += (
                    f", in double precision, so the '{self.precision}' row is not yet what it "
                    "claims; re-run once the centre takes the option"
                )
            self.notes.append(note)
            self.options = None
            return send(None)

    def _seen(self, result: Any) -> Any:
        """Note which engine the centre chose and how long its worker took (last run wins)."""
        meta, timings = result.metadata, result.timings
        engines = meta.get("engines") or [meta.get("engine")]
        note = (
            f"engine {', '.join(str(e) for e in engines)} ({meta.get('engine_reason')}); "
            f"server compile {timings.get('compile_s', 0.0):.4f} s, "
            f"run {timings.get('run_s', 0.0):.4f} s"
        )
        self.notes = [n for n in self.notes if not n.startswith("engine ")] + [note]
        return result

    # --- the four kinds of work ---------------------------------------------------------

    def sample(self, circuit: Circuit, shots: int, seed: int) -> dict[int, int]:
        job = self._run(qasm2(circuit), device=self.device, shots=shots, seed=seed)
        return _counts(self._seen(job.result()).experiments[0].counts)

    def state(self, circuit: Circuit, probes: Any) -> tuple[str, dict[int, complex]]:
        n = circuit.num_qubits
        # Braket's bit strings put qubit 0 leftmost.
        wanted = ", ".join(f'"{format(k, f"0{n}b")[::-1]}"' for k in probes)
        program = qasm3(circuit, (f"#pragma braket result amplitude {wanted}",))
        job = self._run({"source": program, "format": "qasm3"}, device=self.device, shots=1)
        experiment = self._seen(job.result()).experiments[0]
        values = experiment.extra["result_types"][0]["value"]
        return ("amplitudes", {int(bits[::-1], 2): complex(*v) for bits, v in values.items()})

    def batch(self, circuits: Any, shots: int, seed: int) -> list[dict[int, int]]:
        programs = [qasm2(c) for c in circuits]
        if self.separate_jobs:
            jobs = [
                self._run(p, device=self.device, shots=shots, seed=seed + i)
                for i, p in enumerate(programs)
            ]
            return [_counts(job.result().experiments[0].counts) for job in jobs]
        job = self._run(programs, device=self.device, shots=shots, seed=seed)
        return [_counts(e.counts) for e in self._seen(job.result()).experiments]

    def estimate(self, circuit: Circuit, values: np.ndarray) -> np.ndarray:
        n = circuit.num_qubits
        observable = {"I" * (n - 1 - q) + "Z" + "I" * q: 1.0 for q in range(n)}
        pub = {
            "circuit": qasm3(circuit),
            "format": "qasm3",
            "parameter_values": np.asarray(values, dtype=float).ravel().tolist(),
            "shape": [len(values)],
            "observables": [observable],
        }

        def send(options: dict[str, Any] | None) -> Any:
            body: dict[str, Any] = {"device": self.device, "kind": "estimator", "pubs": [pub]}
            if options:
                body["options"] = options
            # As for the other kinds: one request carries the job and, when it ends
            # within the wait, its result.
            return self.service.submit(body, wait=60)

        result = self._seen(self._submit(send).result())
        return np.asarray(result.extra["pubs"][0]["evs"], dtype=float)
