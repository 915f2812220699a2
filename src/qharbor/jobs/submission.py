"""Submission: the one place a job is admitted.

A submission is opened (if its programs are sealed), parsed and checked once
through :func:`qharbor.jobs.preparation.prepare`, checked against its session and its
project's quota, and stored by the manager; then the scheduler is woken. A dry
run takes the same path and stops before anything is stored.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from qharbor import errors, wire
from qharbor.devices import Catalogue
from qharbor.devices.fleet import Fleet
from qharbor.jobs import dryrun
from qharbor.jobs.job import Job
from qharbor.jobs.manager import JobManager
from qharbor.jobs.options import JobOptions
from qharbor.jobs.preparation import prepare
from qharbor.jobs.request import JobRequest, PreparedJob, ProgramSpec
from qharbor.jobs.sessions import Session, SessionManager, SessionMode
from qharbor.security.identity import Principal
from qharbor.security.keys import KeyStore
from qharbor.security.quotas import Quotas, estimate_s
from qharbor.settings import Settings

log = logging.getLogger(__name__)

#: Turns a sealed payload's plaintext into programs.
#:
#: Raises:
#:     errors.SealedPayloadInvalid: the plaintext is not a list of programs.
ReadPrograms = Callable[[Any], tuple[ProgramSpec, ...]]


@dataclass(frozen=True)
class SealedPrograms:
    """A job's programs sealed to the centre's ML-KEM key, as submitted."""

    #: The envelope (algorithm, key_id, encapsulated, nonce, ciphertext).
    envelope: dict[str, Any]
    #: SHA-256 of the submission with its ciphertext, without its idempotency key.
    fingerprint: str
    #: Validates what opens as the plain ``programs`` field is validated; the edge
    #: that owns the request schema supplies it, so the rules live in one place.
    read: ReadPrograms = dataclasses.field(compare=False, repr=False)


@dataclass(frozen=True)
class JobSubmission:
    """What a submitter sends: the request, and its programs sealed if they are."""

    #: Without programs while they are sealed.
    request: JobRequest
    sealed: SealedPrograms | None = None


class Submission:
    """Admits jobs: opens, parses and checks them once, then stores them.

    Args:
        settings: the centre's limits (programs, bytes and experiments per job).
        catalogue: the devices jobs may name.
        fleet: the devices' status, for dry runs.
        jobs: stores the jobs.
        sessions: sessions and batches a job may join.
        keys: opens sealed programs and seals them again to store.
        quotas: refuses jobs a project cannot afford.
        parsers: the sandbox every program is parsed in (a
            :class:`~qharbor.programs.sandbox.ParserPool`); None parses here.
        wake: called after a job is stored, so the scheduler looks at the queue.
    """

    def __init__(
        self,
        settings: Settings,
        catalogue: Catalogue,
        fleet: Fleet,
        jobs: JobManager,
        sessions: SessionManager,
        keys: KeyStore,
        quotas: Quotas,
        parsers: Any = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.fleet = fleet
        self.jobs = jobs
        self.sessions = sessions
        self.keys = keys
        self.quotas = quotas
        self.parsers = parsers
        self.wake = wake

    def submit(
        self,
        submission: JobSubmission,
        principal: Principal,
        *,
        record: Callable[[sa.Connection], None] | None = None,
    ) -> tuple[Job, bool]:
        """Check and store a job, or find the one its idempotency key names.

        Args:
            submission: the job.
            principal: who submits it, in which project.
            record: called inside the job's write transaction after the quota check
                (an audit entry), so it commits with the job or not at all.

        Returns:
            The stored job, and whether it was stored before (an idempotent replay).

        Raises:
            errors.QHarborError: the first problem found; nothing is stored then.
        """
        request, prepared = self._prepare(submission, principal)
        session: Session | None = None
        if request.session_id is not None:
            session = self.sessions.admit(principal.project_id, request.session_id, request.device)
            if session.mode is SessionMode.SESSION:
                prepared = dataclasses.replace(prepared, priority=1)
        user_key = self.keys.user_key(principal.user_id)
        if user_key is not None:
            prepared = dataclasses.replace(prepared, result_key_id=user_key.id)
        if submission.sealed is not None:
            prepared = self._reseal(submission.sealed, prepared)
        device = self.catalogue.get(request.device)
        cost_s = estimate_s(
            device, request.shots, prepared.num_experiments, total_shots=prepared.shots
        )

        def admit(conn: sa.Connection) -> None:
            self.quotas.admit(conn, principal.project_id, device, cost_s)
            if record is not None:
                record(conn)

        job, replayed = self.jobs.create(
            principal.project_id,
            principal.user_id,
            prepared,
            estimated_s=cost_s,
            admit=admit,
        )
        if not replayed:
            if session is not None:
                self.sessions.after_submit(session)
            self.wake()
        return job, replayed

    def dry_run(self, submission: JobSubmission, principal: Principal) -> dict[str, Any]:
        """What the job would do now (see :func:`qharbor.jobs.dryrun.dry_run`); nothing
        is stored.

        Raises:
            errors.QHarborError: what submitting the job would raise, compilation included.
        """
        request, prepared = self._prepare(submission, principal)
        return dryrun.dry_run(
            prepared, self.catalogue.get(request.device), self.fleet, self.jobs, self.parsers
        )

    def readmit_stored(self) -> int:
        """Parse again the queued jobs an older release stored without parsed circuits.

        Run once as the centre starts, before any worker does: each such job's
        programs (opened, for a sealed job) are parsed in the sandbox as at
        submission, and stored with their circuits. A job that no longer passes is
        left as it is; its worker fails it, saying to submit it again.

        Returns:
            How many jobs were read again.
        """
        count, after = 0, ""
        while rows := self.jobs.queued_unparsed(after):
            after = rows[-1].id
            for row in rows:
                try:
                    readmitted = self._readmit(row)
                except errors.QHarborError as exc:
                    log.warning("job %s cannot be admitted again: %s", row.id, exc.message)
                    continue
                if readmitted is not None and self.jobs.replace_programs(row.id, *readmitted):
                    count += 1
        return count

    def _readmit(self, row: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None] | None:
        """A stored job's programs and PUBs with their parsed circuits; None if they have them."""
        pubs = tuple((row.primitive or {}).get("pubs", ()))
        stored = list(row.programs or ())
        if row.sealed:
            envelope = stored[0]["sealed"]
            stored = wire.open_with_key(self.keys.unwrap(envelope), envelope, wire.PROGRAMS_AAD)
        if all("circuit_qpy" in p or "circuit_gates" in p for p in [*stored, *pubs]):
            return None
        request = JobRequest(
            device=row.device,
            programs=tuple(
                ProgramSpec(p["source"], p["format"], p.get("name"), tuple(p["bindings"]) or None)
                for p in stored
            ),
            shots=row.shots,
            seed=row.seed,
            kind=row.kind,
            pubs=pubs,
            options=JobOptions.from_json(row.options),
        )
        prepared = prepare(
            request,
            self.catalogue.get(row.device),
            max_program_bytes=self.settings.max_program_bytes,
            max_experiments=self.settings.max_bindings_per_job,
            sandbox=self.parsers,
        )
        programs = prepared.stored_programs()
        if row.sealed:
            sealed = [program.to_json() for program in prepared.programs]
            envelope = self.keys.seal_to_centre(sealed, wire.PROGRAMS_AAD)
            programs = [{"sealed": envelope, "parsed": True}]
        return programs, prepared.primitive

    def _prepare(
        self, submission: JobSubmission, principal: Principal
    ) -> tuple[JobRequest, PreparedJob]:
        """The request with its programs opened, and its programs parsed and checked."""
        request = submission.request
        if submission.sealed is not None:
            request = dataclasses.replace(
                request, programs=self._open(submission.sealed, principal)
            )
        limit = self.settings.max_programs_per_job
        if len(request.programs) > limit:
            raise errors.ProgramLimit(
                f"{len(request.programs)} programs in one job; the limit is {limit}",
                max_programs=limit,
            )
        prepared = prepare(
            request,
            self.catalogue.get(request.device),
            max_program_bytes=self.settings.max_program_bytes,
            max_experiments=self.settings.max_bindings_per_job,
            sandbox=self.parsers,
        )
        return request, prepared

    def _open(self, sealed: SealedPrograms, principal: Principal) -> tuple[ProgramSpec, ...]:
        """The sealed programs, opened in this process's memory only."""
        if self.keys.user_key(principal.user_id) is None:
            raise errors.SealingKeyRequired()
        envelope = sealed.envelope
        plaintext = wire.open_with_key(self.keys.unwrap(envelope), envelope, wire.PROGRAMS_AAD)
        programs = sealed.read(plaintext)
        if not programs:
            raise errors.SealedPayloadInvalid("the sealed program list is empty")
        return programs

    def _reseal(self, sealed: SealedPrograms, prepared: PreparedJob) -> PreparedJob:
        """A sealed job's checked programs, sealed again to be stored, and fingerprinted
        by their ciphertext."""
        if prepared.result_key_id is None:  # the key was retired while the job was checked
            raise errors.SealingKeyRequired()
        programs = [program.to_json() for program in prepared.programs]
        envelope = self.keys.seal_to_centre(programs, wire.PROGRAMS_AAD)
        return dataclasses.replace(
            prepared,
            programs=(),
            sealed_programs=envelope,
            fingerprint=sealed.fingerprint,
            sealed_count=len(programs),
        )
