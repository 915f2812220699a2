"""Which programs a centre runs: those it ships, and those its operator installs.

A program is found by name in the entry-point group :data:`GROUP`; the shipped
ones are listed in :data:`SHIPPED` in the same ``module:attribute`` form, so
they run without a reinstall. An installed program of the same name replaces a
shipped one. Nothing else runs: users send a program's inputs, never its code.
"""

from __future__ import annotations

import logging
from importlib import metadata

from qharbor import errors
from qharbor.runtime.program import Program

log = logging.getLogger(__name__)

#: The entry-point group an operator's distribution registers programs in.
GROUP = "qharbor.centre_programs"

#: The programs the centre ships: name -> ``module:attribute`` of a Program subclass.
SHIPPED: dict[str, str] = {
    "vqe": "qharbor.apps.programs:VQEProgram",
    "portfolio": "qharbor.apps.programs:PortfolioProgram",
    "factor": "qharbor.apps.programs:FactorProgram",
}


class Registry:
    """The programs this centre runs, loaded once."""

    def __init__(self, programs: dict[str, Program]) -> None:
        self._programs = dict(sorted(programs.items()))

    @classmethod
    def discover(cls) -> Registry:
        """The shipped programs and those installed in :data:`GROUP`."""
        points = {name: metadata.EntryPoint(name, value, GROUP) for name, value in SHIPPED.items()}
        points.update({point.name: point for point in metadata.entry_points(group=GROUP)})
        programs: dict[str, Program] = {}
        for name, point in points.items():
            try:
                program = load(point.value)
            except ImportError as exc:  # an extra that is not installed (PySCF, say)
                log.info("program %r is not available: %s", name, exc)
                continue
            except TypeError:
                log.warning("entry point %r is not a qharbor program; ignored", name)
                continue
            programs[name] = program
        return cls(programs)

    def get(self, name: str) -> Program:
        """The program of that name.

        Raises:
            errors.CentreProgramNotFound: no such program here.
        """
        program = self._programs.get(name)
        if program is None:
            raise errors.CentreProgramNotFound(
                f"no program {name!r} runs on this centre; available: "
                + (", ".join(self._programs) or "none"),
                program=name,
                available=list(self._programs),
            )
        return program

    def all(self) -> list[Program]:
        return list(self._programs.values())


def load(entry: str) -> Program:
    """The program at ``module:attribute``: a Program subclass (made) or instance.

    Raises:
        ImportError: the module is not there.
        TypeError: the attribute is not a qharbor program.
    """
    loaded = metadata.EntryPoint("", entry, GROUP).load()
    program = loaded() if isinstance(loaded, type) else loaded
    if not isinstance(program, Program):
        raise TypeError(f"{entry} is not a qharbor program")
    return program


def entry_of(program: Program) -> str:
    """Where :func:`load` finds the program again, in another process: its class."""
    return f"{type(program).__module__}:{type(program).__qualname__}"
