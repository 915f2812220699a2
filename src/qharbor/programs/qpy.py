"""QPY, Qiskit's binary circuit format, sent as base64 text.

Only current QPY versions are read. Older versions could run code while
loading (CVE-2025-2000: their symbolic expressions were deserialised with a
loader that can execute code), so they are refused from the header alone,
before any of the payload is decoded.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct

from qiskit import QuantumCircuit
from qiskit import qpy as qiskit_qpy
from qiskit.qpy.exceptions import QpyError

from qharbor import errors

#: The oldest QPY version this centre reads: the first one without the unsafe loader.
MIN_VERSION = qiskit_qpy.QPY_COMPATIBILITY_VERSION
#: The newest QPY version this centre reads.
MAX_VERSION = qiskit_qpy.QPY_VERSION

_MAGIC = b"QISKIT"
#: "QISKIT" in base64, how every QPY program begins.
BASE64_PREFIX = base64.b64encode(_MAGIC).decode()


def header_version(data: bytes) -> int:
    """The QPY format version from a file's header.

    Raises:
        errors.ProgramSyntax: the bytes are not QPY.
    """
    if len(data) < 7 or not data.startswith(_MAGIC):
        raise errors.ProgramSyntax("this is not QPY: it does not start with the QPY header")
    (version,) = struct.unpack_from("!B", data, len(_MAGIC))
    return int(version)


def decode(source: str) -> bytes:
    """The QPY bytes of a base64 program.

    Raises:
        errors.ProgramSyntax: not base64, or not QPY.
        errors.ProgramUnsupported: a QPY version this centre does not read.
    """
    try:
        data = base64.b64decode("".join(source.split()), validate=True)
    except (binascii.Error, ValueError):
        raise errors.ProgramSyntax(
            "a QPY program is sent as base64 text; this is not valid base64"
        ) from None
    version = header_version(data)
    if version < MIN_VERSION:
        raise errors.ProgramUnsupported(
            f"QPY version {version} is too old: versions before {MIN_VERSION} can run code "
            "while loading (CVE-2025-2000), so this centre refuses them. Save the circuit "
            f"again with Qiskit 2 (QPY {MIN_VERSION} to {MAX_VERSION}), or send OpenQASM",
            version=version,
            min_version=MIN_VERSION,
            max_version=MAX_VERSION,
        )
    if version > MAX_VERSION:
        raise errors.ProgramUnsupported(
            f"QPY version {version} is newer than this centre reads ({MIN_VERSION} to "
            f"{MAX_VERSION}); save it with qpy.dump(..., version={MAX_VERSION})",
            version=version,
            min_version=MIN_VERSION,
            max_version=MAX_VERSION,
        )
    return data


def parse(source: str) -> QuantumCircuit:
    """Read one circuit from base64 QPY.

    Raises:
        errors.ProgramError: what is wrong with the payload.
    """
    data = decode(source)
    try:
        loaded = qiskit_qpy.load(io.BytesIO(data))
    except (QpyError, ValueError, TypeError, KeyError, IndexError, struct.error, EOFError) as exc:
        raise errors.ProgramSyntax(f"the QPY payload could not be read: {exc}") from None
    if len(loaded) != 1 or not isinstance(loaded[0], QuantumCircuit):
        raise errors.ProgramUnsupported(
            f"a QPY program holds exactly one circuit; this one holds {len(loaded)}",
            circuits=len(loaded),
        )
    return loaded[0]
