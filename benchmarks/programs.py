"""A 100-iteration VQE for H2: run as a centre program, and driven from the client.

Run: python -m benchmarks.programs [--iterations 100] [--device statevector]

Both sides run the same loop (:func:`qharbor.apps.chemistry.ground_state`): one
estimator job per iteration, holding the energy and its two shifted energies. The
client-driven loop submits each job over HTTP and waits for it in the same request
(``POST /v1/jobs?wait=``), in a session; the centre program runs each through
the centre's fast lane (run on the engine in the program's loop process and
recorded by the centre as a signed job). Same centre, same device, same run.
Prints the seconds each took, their ratio, each one's gap to the exact energy,
and where the program's iterations spent their time.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.centre import in_process
from qharbor.apps import chemistry
from qharbor.apps.quantum import ServiceQuantum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--device", default="statevector")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with in_process(args.workers) as service:
        # Warm both paths (imports, compilation caches) before timing.
        service.programs.run("vqe", args.device, {"iterations": 2}).result()
        session = service.open_session(args.device)["id"]
        chemistry.ground_state(ServiceQuantum(service, args.device, session), iterations=2)

        start = time.perf_counter()
        client = chemistry.ground_state(
            ServiceQuantum(service, args.device, session), iterations=args.iterations
        )
        client_s = time.perf_counter() - start
        service.close_session(session)

        start = time.perf_counter()
        run = service.programs.run("vqe", args.device, {"iterations": args.iterations})
        document = run.result()
        centre_s = time.perf_counter() - start
        centre, timing = document["output"], document.get("timing")
    print(f"VQE for H2, {args.iterations} iterations on {args.device}")
    print(f"{'driven from':<22}{'seconds':>10}{'ms/iter':>10}{'gap (mHa)':>12}")
    for name, seconds, outcome in (
        ("the client, HTTP", client_s, client),
        ("the centre (program)", centre_s, centre),
    ):
        per = seconds / args.iterations * 1000
        print(f"{name:<22}{seconds:>10.2f}{per:>10.1f}{outcome['gap_ha'] * 1000:>12.4f}")
    print(f"centre program is {client_s / centre_s:.1f}x faster end to end (target: 5x)")
    if timing:
        rest = centre_s * 1000 / args.iterations - timing["engine_ms_per_call"]
        print(
            f"centre program, per iteration (ms): engine {timing['engine_ms_per_call']:.2f}, "
            f"admission {timing['admit_ms_per_call']:.2f}, "
            f"recording (signing, group commits) {timing['record_ms_per_call']:.2f}; "
            f"all but the engine, end to end: {rest:.2f}"
        )


if __name__ == "__main__":
    main()
