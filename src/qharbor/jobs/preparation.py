"""Preparation: each program parsed once and checked against the device, nothing stored."""

from __future__ import annotations

import functools
import secrets
from typing import Any

from qharbor import errors
from qharbor.devices import Device, catalogue
from qharbor.engines import eligibility
from qharbor.engines.memory import Workload
from qharbor.jobs.checks import PUBS_TIMEOUT_SECONDS, check_on_device, prepare_pubs_here
from qharbor.jobs.options import JobOptions
from qharbor.jobs.parsed import ParsedProgram, packed_fields
from qharbor.jobs.request import JobRequest, PreparedJob
from qharbor.primitives.pubs import ParseCircuit
from qharbor.programs.batches import Item, admit_programs
from qharbor.programs.intake import admit_program


def prepare(
    request: JobRequest,
    device: Device,
    *,
    max_program_bytes: int,
    max_experiments: int,
    sandbox: Any = None,
    parse_pub: ParseCircuit | None = None,
) -> PreparedJob:
    """Parse every program and check it against the device.

    Every program is parsed and checked against the device in ``sandbox`` (a
    :class:`~qharbor.programs.sandbox.ParserPool`), under a time and memory limit;
    this process never holds an untrusted program's circuit, only its QPY, which
    the job keeps so that its worker need not parse it again.

    Raises:
        errors.QHarborError: the first problem found, naming the program by index.
    """
    if request.shots > device.max_shots:
        raise errors.InvalidRequest(
            f"shots={request.shots} is more than device {device.name!r} allows "
            f"({device.max_shots}); lower shots",
            field="shots",
            max_shots=device.max_shots,
        )
    if request.options.mitigate_readout and device.twin is None:
        raise errors.InvalidRequest(
            f"mitigate_readout needs a device twin; {device.name!r} is a noiseless simulator",
            field="options.mitigate_readout",
        )
    options = request.options
    plan = options.mitigation_plan(request.kind)  # refuses options that cannot go together
    pinned = eligibility.check_pinned(device, options.engine, options.precision)
    seed = request.seed if request.seed is not None else secrets.randbits(31)
    if request.kind != "circuits":
        if request.programs:
            raise errors.InvalidRequest(
                f"a {request.kind} job carries 'pubs', not 'programs'", field="programs"
            )
        args = (
            request.kind,
            request.pubs,
            device,
            request.shots,
            request.precision,
            max_program_bytes,
            max_experiments,
            plan,
        )
        # PUB circuits are untrusted text too: parsed in the sandbox, like programs.
        if parse_pub is not None:
            pubs = prepare_pubs_here(*args, parse=parse_pub)
        elif sandbox is None:
            pubs = prepare_pubs_here(*args)
        else:
            pubs = sandbox.call(prepare_pubs_here, *args, timeout_s=PUBS_TIMEOUT_SECONDS)
        # The exact estimator holds a final state (and its expectation's scratch).
        states = 2 if request.kind == "estimator" else 0
        need = _memory_need(device, options, [Workload(w, states) for w in pubs.widths])
        return PreparedJob(
            request=request,
            seed=seed,
            num_experiments=pubs.num_experiments,
            shots=pubs.shots,
            primitive=pubs.payload,
            memory_bytes=need,
        )
    if request.pubs:
        raise errors.InvalidRequest(
            "'pubs' belong to sampler and estimator jobs; set 'kind'", field="pubs"
        )
    if not request.programs:
        raise errors.InvalidRequest("a job needs at least one program", field="programs")
    stored: list[ParsedProgram] = []
    workloads: list[Workload] = []
    experiments = 0
    skip_isa = request.options.skip_compilation
    # Parsed together (a batch's chunks on every parser at once), then taken in
    # order, so the first refusal reported is the first program's, as before.
    admitted = admit_programs(
        [
            Item(
                spec.source,
                spec.format,
                spec.parameters,
                check=functools.partial(
                    check_on_device,
                    device,
                    skip_isa,
                    index,
                    precision=options.precision,
                    engine=options.engine,
                    shots=request.shots,
                ),
            )
            for index, spec in enumerate(request.programs)
        ],
        sandbox=sandbox,
        max_bytes=max_program_bytes,
    )
    for index, (spec, program) in enumerate(zip(request.programs, admitted, strict=True)):
        if isinstance(program, errors.ProgramError):
            raise _in_program(program, index)
        if isinstance(program, errors.QHarborError):
            raise program
        # A program with result types keeps one final state per binding until the end.
        states = (len(program.bindings) or 1) if program.extras.get("result_types") else 0
        workloads.append(Workload(program.checked.num_qubits, states))
        _memory_need(device, options, workloads[-1:], program=index)
        if pinned is not None:
            _check_engine(pinned, device, program.checked, options.precision, index)
        experiments += program.num_experiments
        if experiments > max_experiments:
            raise errors.ProgramLimit(
                f"the job would run more than {max_experiments} experiments "
                "(programs times parameter bindings); split it into several jobs",
                max_experiments=max_experiments,
            )
        stored.append(
            ParsedProgram(
                source=spec.source,
                format=program.format,
                name=spec.name,
                bindings=program.bindings,
                extras=program.extras,
                **packed_fields(program.stored),
            )
        )
    return PreparedJob(
        request=request,
        seed=seed,
        programs=tuple(stored),
        num_experiments=experiments,
        memory_bytes=_memory_need(device, options, workloads),
    )


def parse_here(
    source: str,
    fmt: str = "auto",
    bindings: Any = None,
    name: str | None = None,
) -> ParsedProgram:
    """One program parsed in this process, as a job stores it: for tools and tests.

    The centre parses what users send in its sandbox (:func:`prepare`); this is for
    programs this process wrote itself.
    """
    admitted = admit_program(source, fmt, bindings or None, sandbox=None)
    return ParsedProgram(
        source=source,
        format=admitted.format,
        name=name,
        bindings=admitted.bindings,
        extras=admitted.extras,
        **packed_fields(admitted.stored),
    )


def _memory_need(
    device: Device, options: JobOptions, workloads: list[Workload], program: int | None = None
) -> int:
    """The memory the job (or one of its programs) needs, refused if it could never fit.

    Raises:
        errors.DeviceLimit: more than the host's jobs may use together.
    """
    need = catalogue.memory_need(
        device, workloads, precision=options.precision, engine=options.engine
    )
    qubits = workloads[0].width if program is not None else None
    catalogue.check_memory(device, need, program=program, qubits=qubits)
    return need


def _check_engine(engine: Any, device: Device, features: Any, precision: str, index: int) -> None:
    """Refuse a program the job's pinned engine cannot run, before anything is queued."""
    why = engine.unsupported(
        features,
        device.method,
        eligibility.run_precision(engine, precision, device.method),
    )
    if why is not None:
        raise errors.EngineCannotRun(
            f"program {index}: the job pins engine {engine.name!r}, which cannot run it: {why}. "
            "Use engine 'auto' to let the centre choose",
            program=index,
            engine=engine.name,
            reason=why,
        )


def _in_program(exc: errors.ProgramError, index: int) -> errors.ProgramError:
    """The same error, with the program's index in the message and detail."""
    if "program" in exc.detail:  # a device check names the program itself
        return exc
    again = type(exc)(f"program {index}: {exc.message}", program=index, **exc.detail)
    return again
