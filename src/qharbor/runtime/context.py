"""What a running program sees, in its loop's process: jobs, progress, checkpoints.

Every quantum call is one job of the run's user, in the run's session, tagged
with the run's id (so the result can list every job the run ran). On a simulator
it takes the fast lane (:mod:`qharbor.runtime.fastlane`): prepared and run on
the engine in this process, and sent to the centre to be recorded. Otherwise it
goes to the centre as a :class:`~qharbor.runtime.messages.Queue` request: the
centre submits it through :class:`qharbor.jobs.submission.Submission`, where it
is queued like any other job (ahead of ordinary work on the device, as a
session's), and answers with its result. Progress and checkpoints are messages
too; a stop from the centre (cancel, or the centre stops) is seen at the next
quantum call or :meth:`RunContext.check`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from qharbor import errors
from qharbor.jobs.request import JobRequest, ProgramSpec
from qharbor.runtime import messages
from qharbor.runtime.channel import Channel
from qharbor.runtime.fastlane import RECHECK_S, FastLane, Timing, answer
from qharbor.runtime.pubs import estimator_pub, qpy_text

#: The shortest time between two progress messages (seconds); the newest is always
#: sent with a checkpoint and as the run ends. A fast loop reports hundreds of
#: iterations a second, and followers are told of new progress at most every 0.1 s.
PROGRESS_EVERY_S = 0.05


class RunCancelled(Exception):
    """The run was told to stop (cancelled, or the centre stops) while its program ran."""


class RunContext:
    """The :class:`~qharbor.runtime.program.Context` of one run in one attempt.

    Args:
        spec: the attempt, as the centre sent it.
        channel: the loop's end of its channel to the centre.
    """

    def __init__(self, spec: messages.LoopSpec, channel: Channel) -> None:
        self.run_id = spec.run_id
        self._spec = spec
        self._channel = channel
        self._lane = (
            FastLane(spec.device, spec.max_program_bytes, spec.max_experiments)
            if spec.fast_lane
            else None
        )
        self._last_save = 0.0
        self._admitted_at: float | None = None  # when the centre last said "go on"
        self._stopped = False
        self.progress: dict[str, Any] | None = None
        self._progress_sent_at = 0.0
        self._progress_unsent = False  # a newer progress than the centre has

    # --- the quantum half ------------------------------------------------------------

    @property
    def device(self) -> str:
        return self._spec.device.name

    def estimate(
        self,
        circuit: Any,
        observable: Any,
        parameter_sets: Sequence[Sequence[float]] | None = None,
        precision: float | None = None,
    ) -> list[float]:
        lane = self._lane
        text = lane.source(circuit) if lane is not None else None
        terms = lane.terms(observable) if lane is not None else None
        pub = estimator_pub(circuit, observable, parameter_sets, text, terms)
        if precision is not None:
            pub["precision"] = float(precision)
        request = JobRequest(
            device=self.device,
            programs=(),
            kind="estimator",
            pubs=(pub,),
            precision=precision,
            session_id=self._spec.session_id,
            tags=(self._spec.tag,),
        )
        data = self._run(request)
        evs = data["pubs"][0]["evs"]
        return [float(v) for v in (evs if isinstance(evs, list) else [evs])]

    def sample(self, circuits: Sequence[Any], shots: int) -> list[dict[str, int]]:
        request = JobRequest(
            device=self.device,
            programs=tuple(ProgramSpec(self._text(c), "qpy") for c in circuits),
            shots=int(shots),
            session_id=self._spec.session_id,
            tags=(self._spec.tag,),
        )
        data = self._run(request)
        return [dict(experiment["counts"]) for experiment in data["experiments"]]

    def _text(self, circuit: Any) -> str:
        return self._lane.source(circuit) if self._lane is not None else qpy_text(circuit)

    def _run(self, request: JobRequest) -> dict[str, Any]:
        """Run one job and give its result: in the fast lane, or through the centre's queue."""
        self.check()
        lane = self._lane
        if lane is None or not lane.takes(request.device):
            return self._ask(messages.Queue(request))
        prepared, cost_s = lane.prepare(request)
        now = time.monotonic()
        # The session (open, and kept active), the user's sealing key and the budget
        # are asked of the centre before the engine runs at most every RECHECK_S; the
        # centre checks the budget again as it stores each group of jobs.
        if self._admitted_at is None or now - self._admitted_at >= RECHECK_S:
            self._ask(messages.Admit(cost_s))
            self._admitted_at = now
        job = lane.run(prepared, cost_s)
        self._channel.send(messages.Ran(job))
        if job.result is None:
            code, message = job.error or ("ENGINE_ERROR", "")
            raise errors.JobFailed(
                f"job {job.job_id} of the program failed: {code}: {message}",
                job_id=job.job_id,
                error_code=code,
            )
        return answer(job.result)

    def _ask(self, question: messages.Admit | messages.Queue) -> dict[str, Any]:
        """Send a question to the centre and wait for its answer.

        Raises:
            RunCancelled: the run was told to stop meanwhile.
            errors.QHarborError: the centre's answer was no.
        """
        self._channel.send(question)
        while True:
            message = self._channel.receive(None)
            if isinstance(message, messages.Stop):
                self._stopped = True
            elif isinstance(message, messages.Answer):
                break
        if message.stopped or self._stopped:
            raise RunCancelled()
        if message.error is not None:
            raise errors.QHarborError.from_json(message.error)
        return message.data or {}

    # --- the classical half ------------------------------------------------------------

    @property
    def restored(self) -> dict[str, Any] | None:
        return self._spec.restored

    def report(self, iteration: int, value: float, best: float, **extra: Any) -> None:
        self.progress = {
            "iteration": int(iteration),
            "value": float(value),
            "best": float(best),
            **extra,
        }
        now = time.monotonic()
        if now - self._progress_sent_at >= PROGRESS_EVERY_S:
            self._progress_sent_at = now
            self._channel.send(messages.Progress(self.progress))
            self._progress_unsent = False
        else:
            self._progress_unsent = True

    def send_last_progress(self) -> None:
        """Send the newest progress, if the centre has not had it yet (as the run ends)."""
        if self._progress_unsent and self.progress is not None:
            self._channel.send(messages.Progress(self.progress))
            self._progress_unsent = False

    def save(self, state: dict[str, Any], *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_save >= self._spec.checkpoint_s:
            self._last_save = now
            # The channel is ordered: the centre stores the jobs sent before this state
            # in the transaction that stores it.
            self._channel.send(messages.Save(state, self.progress))
            self._progress_unsent = False

    def timing(self) -> Timing | None:
        """Where this attempt's fast-lane calls spent their time; None without one."""
        return self._lane.timing if self._lane is not None else None

    def check(self) -> None:
        while not self._stopped:
            message = self._channel.receive(0)
            if message is None:
                break
            if isinstance(message, messages.Stop):
                self._stopped = True
        if self._stopped:
            raise RunCancelled()
