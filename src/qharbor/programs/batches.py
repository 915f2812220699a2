"""Many programs admitted together: in chunks, over every parser of the sandbox at once.

A batch job of a thousand small programs admitted one program per sandboxed
call pays a thousand round trips to one parser process while the others wait
(measured: about 3 s for 1000 five-qubit programs on two cores). Here the
programs go in chunks, each chunk one call, and the chunks run on all the
pool's parsers in parallel. Each program is parsed and checked exactly as
:func:`qharbor.programs.intake.admit_program` does it; a chunk's time limit is
the sum of its programs' limits, so a hostile program gets no more parser time
than it would alone, and a chunk that runs out of time or memory is admitted
again one program at a time, so the refusal names the program that caused it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from qharbor import errors
from qharbor.programs.intake import Admitted, _bindings, _with_max_bytes, admit_here, admit_program
from qharbor.programs.limits import DEFAULT_LIMITS, Limits, check_size
from qharbor.programs.sandbox import error_answer

#: Programs one sandboxed call admits at most.
CHUNK_PROGRAMS = 64
#: Characters of program text one sandboxed call admits at most (a chunk's
#: circuits are in the parser's memory together).
CHUNK_CHARS = 1 << 20

#: A chunk's answer for one program: ("ok", what ``admit_here`` returns) or
#: ("error", code, message, detail).
Answer = tuple[Any, ...]


@dataclass(frozen=True)
class Item:
    """One program to admit.

    Attributes:
        source: the program text.
        format: its format, or ``auto``.
        parameters: values for its parameters, one set per run.
        check: as for :func:`~qharbor.programs.intake.admit_program`.
    """

    source: str
    format: str = "auto"
    parameters: Sequence[Sequence[float] | Mapping[str, float]] | None = None
    check: Callable[..., Any] | None = None


def admit_programs(
    items: Sequence[Item],
    *,
    sandbox: Any,
    max_bytes: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Admitted | errors.QHarborError]:
    """Admit every program; each one's :class:`Admitted`, or the error that refused it.

    Errors are returned, not raised, so the caller reports the first in program
    order with its index. Every program is parsed even when an earlier one fails:
    the chunks run at once.

    Args:
        items: the programs.
        sandbox: a :class:`~qharbor.programs.sandbox.ParserPool`, or None to admit
            here (tests and tools).
        max_bytes, limits: as for :func:`~qharbor.programs.intake.admit_program`.
    """
    if sandbox is None or len(items) <= 1:
        return [_one(item, sandbox, max_bytes, limits) for item in items]
    limits = _with_max_bytes(limits, max_bytes)
    answers: list[Admitted | errors.QHarborError | None] = [None] * len(items)
    for index, item in enumerate(items):
        try:
            check_size(item.source, limits)  # the cheapest refusals need no parser
        except errors.QHarborError as exc:
            answers[index] = exc
    waiting = [i for i, answer in enumerate(answers) if answer is None]
    chunks = _chunks(waiting, items)
    workers = max(1, min(len(chunks), getattr(sandbox, "size", 1)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qharbor-admit") as pool:
        done = pool.map(lambda chunk: _admit_chunk(chunk, items, sandbox, limits), chunks)
        for chunk, admitted in zip(chunks, done, strict=True):
            for index, answer in zip(chunk, admitted, strict=True):
                answers[index] = answer
    return [a if a is not None else errors.ProgramError("not admitted") for a in answers]


def admit_many_here(
    items: Sequence[tuple[str, str, Callable[..., Any] | None]], limits: Limits
) -> list[Answer]:
    """Parse and check several programs in this process: what a sandboxed parser runs
    for a chunk. Stops at the first program refused (the job is refused with it)."""
    answers: list[Answer] = []
    for source, fmt, check in items:
        try:
            answers.append(("ok", admit_here(source, fmt, limits, check)))
        except errors.QHarborError as exc:
            answers.append(error_answer(exc))
            break
    return answers


def _one(
    item: Item, sandbox: Any, max_bytes: int | None, limits: Limits
) -> Admitted | errors.QHarborError:
    try:
        return admit_program(
            item.source,
            item.format,
            item.parameters,
            sandbox=sandbox,
            max_bytes=max_bytes,
            limits=limits,
            check=item.check,
        )
    except errors.QHarborError as exc:
        return exc


def _chunks(indices: list[int], items: Sequence[Item]) -> list[list[int]]:
    chunks: list[list[int]] = []
    chars = 0
    for index in indices:
        size = len(items[index].source)
        if not chunks or len(chunks[-1]) >= CHUNK_PROGRAMS or chars + size > CHUNK_CHARS:
            chunks.append([])
            chars = 0
        chunks[-1].append(index)
        chars += size
    return chunks


def _admit_chunk(
    chunk: list[int], items: Sequence[Item], sandbox: Any, limits: Limits
) -> list[Admitted | errors.QHarborError]:
    sent = [(items[i].source, items[i].format, items[i].check) for i in chunk]
    try:
        answers: list[Answer] = sandbox.call(
            admit_many_here, sent, limits, timeout_s=sandbox.timeout_s * len(chunk)
        )
    except errors.ProgramLimit:
        # Out of time or memory: find the program that did it, one at a time.
        return [_one(items[i], sandbox, None, limits) for i in chunk]
    out: list[Admitted | errors.QHarborError] = []
    for index, answer in zip(chunk, answers, strict=False):
        if answer[0] == "ok":
            fmt_read, stored, extras, names, checked = answer[1]
            try:
                bindings = _bindings(names, items[index].parameters)
            except errors.QHarborError as exc:
                out.append(exc)
                continue
            out.append(Admitted(fmt_read, stored, bindings, extras, checked))
        else:
            _kind, code, message, detail = answer
            klass = errors.ERRORS_BY_CODE.get(code, errors.ProgramError)
            out.append(klass(message, **detail))
    # Programs after a refused one in the chunk were not parsed: the job is refused.
    skipped = chunk[len(out) :]
    out.extend(errors.ProgramError("not parsed: an earlier program was refused") for _ in skipped)
    return out
