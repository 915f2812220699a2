"""Round trip of a tiny job over HTTP: submit a Bell pair, wait for its result.

Run: .venv/bin/python benchmarks/roundtrip.py [--jobs 200] [--workers 2]
Starts a local centre (SQLite, temporary data folder) and prints p50 and p99.
The client shares this process with the centre, and sends two requests per job
(submit, then wait for the result); ``benchmarks/load.py`` measures the one-request
path (``POST /v1/jobs?wait=``) from client processes of their own. The rate limit
is off here: 200 quick jobs are 400 requests, more than one token's default burst.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import httpx

from qharbor.api.server import CentreServer
from qharbor.settings import Settings

BELL = (
    'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    "h q[0];\ncx q[0],q[1];\nmeasure q -> c;\n"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        settings = Settings(
            port=0,
            data_dir=data,
            workers=args.workers,
            log_level="warning",
            rate_limit_per_second=0,
        )
        with CentreServer(settings) as server:
            headers = {"Authorization": f"Bearer {server.bootstrap_token}"}
            with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
                seconds = []
                for _ in range(args.jobs):
                    start = time.perf_counter()
                    body = {"device": "statevector", "programs": [BELL], "shots": 100}
                    job_id = http.post("/v1/jobs", json=body).json()["id"]
                    response = http.get(f"/v1/jobs/{job_id}/result", params={"wait": 30})
                    response.raise_for_status()
                    seconds.append(time.perf_counter() - start)
    cuts = statistics.quantiles(seconds, n=100)
    print(
        f"{args.jobs} sequential tiny jobs, {args.workers} workers: "
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
