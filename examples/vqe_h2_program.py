"""VQE for H2 as a centre program: start it, watch its progress, plot its convergence.

    python examples/vqe_h2_program.py [device] [plot.png]    # default: statevector

Needs a centre (QHARBOR_URL and QHARBOR_TOKEN, or 'qharbor login'), and matplotlib
for the plot.
"""

from __future__ import annotations

import sys

from qharbor.apps import chemistry
from qharbor.client.service import HarborService


def main() -> None:
    device = sys.argv[1] if len(sys.argv) > 1 else "statevector"
    plot = sys.argv[2] if len(sys.argv) > 2 else "vqe-h2-convergence.png"
    with HarborService() as service:
        run = service.programs.run("vqe", device, {"iterations": 30})
        shown = 0
        for event in run.events():
            progress = event["progress"]
            if progress and progress["iteration"] > shown:
                shown = progress["iteration"]
                print(f"iteration {progress['iteration']:3d}  E = {progress['value']:.6f} Ha")
        result = run.result()
        service.verify(result)  # signed by the centre, with every job it ran
    output = result["output"]
    print(
        f"E = {output['energy_ha']:.6f} Ha, exact {output['reference_ha']:.6f} Ha, "
        f"gap {output['gap_ha'] * 1000:.4f} mHa, {len(result['jobs'])} jobs"
    )
    chemistry.plot_convergence(output["history"], output["reference_ha"], plot)
    print(f"convergence curve: {plot}")


if __name__ == "__main__":
    main()
