"""What a run's loop process and the centre tell each other over their channel.

The loop (:mod:`qharbor.runtime.loop`) sends the jobs it ran, its progress, its
checkpoints and its end, and asks for what needs the database: may it run a job
of this cost (:class:`Admit`), and a twin's or a QPU's job through the queue
(:class:`Queue`). The centre (:mod:`qharbor.runtime.host`) answers each question
with one :class:`Answer`, and may tell the loop to :class:`Stop` at any time.
Errors cross as their JSON (:meth:`qharbor.errors.QHarborError.to_json`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qharbor.devices.device import Device
from qharbor.jobs.manager import RanJob
from qharbor.jobs.request import JobRequest
from qharbor.runtime.fastlane import Timing


@dataclass(frozen=True)
class LoopSpec:
    """One attempt of a run, as its loop process gets it."""

    run_id: str
    program: str
    #: Where the centre found the program, ``module:attribute`` (see :func:`registry.load`).
    entry: str
    #: The run's inputs as stored (checked against the program's schema again there).
    inputs: dict[str, Any]
    #: The state the run last saved; None for a first attempt.
    restored: dict[str, Any] | None
    #: The run's device, as the catalogue has it.
    device: Device
    session_id: str | None
    #: The tag every job of the run carries.
    tag: str
    #: A program's state is saved at most this often (seconds).
    checkpoint_s: float
    #: Whether a simulator's jobs run in the loop (the fast lane) or through the queue.
    fast_lane: bool
    #: The admission limits of the centre's settings.
    max_program_bytes: int
    max_experiments: int


# --- the loop's side -------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    """A job ran in the loop (DONE, or FAILED with the engine's error); record it."""

    job: RanJob


@dataclass(frozen=True)
class Admit:
    """May the loop run a job that costs ``cost_s`` device-seconds? Answered at once."""

    cost_s: float


@dataclass(frozen=True)
class Queue:
    """Run this job through the queue and answer with its result's data."""

    request: JobRequest


@dataclass(frozen=True)
class Progress:
    """The program reported an iteration."""

    progress: dict[str, Any]


@dataclass(frozen=True)
class Save:
    """The program saved its state; it counts every job sent before it."""

    state: dict[str, Any]
    progress: dict[str, Any] | None


@dataclass(frozen=True)
class Ended:
    """The program returned ``output``, raised ``error`` or stopped as it was told."""

    output: dict[str, Any] | None = None
    #: The error's JSON; a program's own exception is a ``PROGRAM_RUN_ERROR``.
    error: dict[str, Any] | None = None
    stopped: bool = False
    #: Where the fast lane's calls spent their time; None without a fast lane.
    timing: Timing | None = None


# --- the centre's side -----------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """The answer to an :class:`Admit` or a :class:`Queue`."""

    data: dict[str, Any] | None = None
    #: The error's JSON when the answer is no.
    error: dict[str, Any] | None = None
    #: The run was told to stop while the question waited.
    stopped: bool = False


@dataclass(frozen=True)
class Stop:
    """Stop at the next quantum call or check: cancelled, or the centre stops."""
