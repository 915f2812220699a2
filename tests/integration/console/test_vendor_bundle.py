"""The console's vendored ML-DSA bundle is what its locked npm toolchain builds."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import qharbor.console

CONSOLE = Path(qharbor.console.__file__).resolve().parent
BUILD = CONSOLE / "build"
SHIPPED = CONSOLE / "static" / "vendor" / "noble-post-quantum.js"


def test_the_shipped_bundle_is_byte_for_byte_the_locked_build(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (BUILD / "node_modules" / "esbuild").is_dir():
        pytest.fail(
            "rebuilding the console's bundle needs Node.js and its locked packages: run "
            "'bash scripts/setup.sh test' (it runs 'npm ci' in src/qharbor/console/build)"
        )
    rebuilt = tmp_path / "noble-post-quantum.js"
    done = subprocess.run(
        [node, "bundle.mjs", "--out", str(rebuilt)],
        cwd=BUILD,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert rebuilt.read_bytes() == SHIPPED.read_bytes(), (
        "static/vendor/noble-post-quantum.js differs from what package-lock.json builds: "
        "run 'npm ci && node bundle.mjs' in src/qharbor/console/build and commit the result"
    )


def test_the_installed_toolchain_is_the_locked_one() -> None:
    lock = json.loads((BUILD / "package-lock.json").read_text(encoding="utf-8"))
    for name in ("@noble/post-quantum", "@noble/hashes", "@noble/curves", "esbuild"):
        locked = lock["packages"][f"node_modules/{name}"]["version"]
        installed_file = BUILD / "node_modules" / name / "package.json"
        if not installed_file.exists():
            pytest.fail(f"{name} is not installed: run 'npm ci' in {BUILD}")
        installed = json.loads(installed_file.read_text(encoding="utf-8"))["version"]
        assert installed == locked, f"{name} {installed} is installed, the lock says {locked}"
    banner = SHIPPED.read_text(encoding="utf-8").splitlines()[0]
    assert lock["packages"]["node_modules/@noble/post-quantum"]["version"] in banner
