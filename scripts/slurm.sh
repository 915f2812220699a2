#!/usr/bin/env bash
# Make sure the Slurm tests have Slurm: Debian's slurm-wlm and munge; sourced by test.sh.
#
# The tests start their own single-node cluster as root (tests/integration/slurm.py),
# with a private slurm.conf, munge key and ports; this only installs the programs.
# Without root or apt the Slurm tests skip, except under CI (CI=true), where they fail.

slurm_installed() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
        && command -v sbatch >/dev/null && command -v munged >/dev/null
}

if ! slurm_installed; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "Installing Slurm (slurm-wlm, munge) for the tests ..."
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
    elif [ "${CI:-}" = "true" ]; then
        echo "CI: the Slurm tests need slurm-wlm and munge (as root); failing." >&2
        exit 1
    else
        echo "Slurm is not installed and cannot be here (needs root and apt); its tests skip." >&2
    fi
fi
