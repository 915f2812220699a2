"""The qharbor error tree.

Every error a user can cause is a :class:`QHarborError` with a stable ``code``.
The code is part of the public API: clients branch on it, so it never changes
once released. Only ``qharbor.api`` maps codes to HTTP statuses, and the client
maps them back into this same tree, so the SDK raises the same classes the
server does.
"""

from __future__ import annotations

from typing import Any, ClassVar


class QHarborError(Exception):
    """Something went wrong in qharbor."""

    code: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str | None = None, **detail: Any) -> None:
        self.message = message or (self.__doc__ or self.code).strip()
        self.detail: dict[str, Any] = detail
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        """The error as the API's JSON shape, ``{"error": {...}}``."""
        return {"error": {"code": self.code, "message": self.message, "detail": self.detail}}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> QHarborError:
        """Rebuild the most specific error class for a JSON error body."""
        error = body.get("error", body)
        code = str(error.get("code", "INTERNAL"))
        klass = ERRORS_BY_CODE.get(code, QHarborError)
        instance = klass(str(error.get("message", "")), **(error.get("detail") or {}))
        if klass is QHarborError:
            instance.code = code  # type: ignore[misc]
        return instance


# --- requests -----------------------------------------------------------------


class InvalidRequest(QHarborError):
    """The request is not valid; see the detail for the fields to fix."""

    code = "INVALID_REQUEST"


class PayloadTooLarge(QHarborError):
    """The request body is larger than the centre accepts."""

    code = "PAYLOAD_TOO_LARGE"


class NotFound(QHarborError):
    """No such route."""

    code = "NOT_FOUND"


class MethodNotAllowed(QHarborError):
    """This route does not accept that HTTP method."""

    code = "METHOD_NOT_ALLOWED"


# --- identity -------------------------------------------------------------------


class Unauthenticated(QHarborError):
    """A valid bearer token is required: send 'Authorization: Bearer <token>'."""

    code = "UNAUTHENTICATED"


class Forbidden(QHarborError):
    """Your token does not allow this action."""

    code = "FORBIDDEN"


class TokenInvalid(Unauthenticated):
    """The sign-in token is not valid (malformed, or its signature does not verify); sign in again."""  # noqa: E501

    code = "TOKEN_INVALID"


class TokenExpired(Unauthenticated):
    """The sign-in token has expired; refresh it or sign in again."""

    code = "TOKEN_EXPIRED"


class TokenWrongIssuer(Unauthenticated):
    """The sign-in token was issued by a provider this centre does not trust."""

    code = "TOKEN_WRONG_ISSUER"


class TokenWrongAudience(Unauthenticated):
    """The sign-in token was issued to another application, not to this centre."""

    code = "TOKEN_WRONG_AUDIENCE"


class TokenUnknownKey(Unauthenticated):
    """The sign-in token is signed with a key the identity provider does not publish."""

    code = "TOKEN_UNKNOWN_KEY"


class TokenAlgorithm(Unauthenticated):
    """The sign-in token is unsigned (alg 'none') or signed with an algorithm not accepted."""

    code = "TOKEN_ALGORITHM"


class SsoNotConfigured(QHarborError):
    """This centre has no single sign-on: its operator has not set QHARBOR_OIDC_ISSUER."""

    code = "SSO_NOT_CONFIGURED"


class SsoFailed(QHarborError):
    """Signing in through the identity provider did not complete; start again."""

    code = "SSO_FAILED"


class IdentityProviderUnavailable(QHarborError):
    """The identity provider could not be reached; try again shortly."""

    code = "IDENTITY_PROVIDER_UNAVAILABLE"


class CsrfRejected(Forbidden):
    """A write made with the console's session cookie needs the X-CSRF-Token header:
    send the value of the 'qh_csrf' cookie in it, or use a bearer token."""

    code = "CSRF_REJECTED"


class UserNotFound(QHarborError):
    """No user has that id or name."""

    code = "USER_NOT_FOUND"


class ProjectNotFound(QHarborError):
    """No project has that id or name."""

    code = "PROJECT_NOT_FOUND"


class TokenNotFound(QHarborError):
    """No token with that id is yours to see."""

    code = "TOKEN_NOT_FOUND"


class NameTaken(QHarborError):
    """That name is already in use; choose another."""

    code = "NAME_TAKEN"


class LastAdmin(QHarborError):
    """The change would leave the centre without a working admin token; make another first."""

    code = "LAST_ADMIN"


# --- fair use ---------------------------------------------------------------------


class QuotaExceeded(QHarborError):
    """Your project's quota does not cover this job; the message gives the figures."""

    code = "QUOTA_EXCEEDED"


class RateLimited(QHarborError):
    """Too many requests from this user or project; wait for the Retry-After seconds."""

    code = "RATE_LIMITED"


class SessionLimit(QHarborError):
    """Too many open sessions; close one (DELETE /v1/sessions/{id}) and try again."""

    code = "SESSION_LIMIT"


# --- programs ---------------------------------------------------------------------


class ProgramError(QHarborError):
    """The program could not be accepted."""

    code = "PROGRAM_ERROR"


class ProgramSyntax(ProgramError):
    """The program has a syntax error."""

    code = "PROGRAM_SYNTAX"


class ProgramUnsupported(ProgramError):
    """The program uses a construct that this centre cannot run."""

    code = "PROGRAM_UNSUPPORTED"


class ProgramLimit(ProgramError):
    """The program exceeds one of the centre's input limits."""

    code = "PROGRAM_LIMIT"


class ParserUnavailable(QHarborError):
    """The centre's program checker could not start; the program was not judged.
    Try again shortly; if it persists, the operator should check the centre's
    memory limits (see docs/security.md, "Program limits")."""

    code = "PARSER_UNAVAILABLE"


class ProgramNotISA(ProgramError):
    """The program was sent without compilation but is not in the device's native
    instructions on its coupled qubits; compile it, or let the centre compile it."""

    code = "PROGRAM_NOT_ISA"


class ProgramParameters(ProgramError):
    """The parameter values do not match the program's parameters."""

    code = "PROGRAM_PARAMETERS"


# --- devices ----------------------------------------------------------------------


class DeviceNotFound(QHarborError):
    """No device has that name; list them with GET /v1/devices."""

    code = "DEVICE_NOT_FOUND"


class DeviceLimit(QHarborError):
    """The program does not fit the device."""

    code = "DEVICE_LIMIT"


class DeviceUnsupportedOperation(QHarborError):
    """The device cannot execute an operation the program uses."""

    code = "DEVICE_UNSUPPORTED_OPERATION"


class DeviceFileError(QHarborError):
    """A device twin file is not valid; the message names the file and the field."""

    code = "DEVICE_FILE"


class DeviceNotTwin(QHarborError):
    """The device is a simulator without calibration, telemetry or a twin."""

    code = "DEVICE_NOT_TWIN"


# --- engines ----------------------------------------------------------------------


class EngineNotFound(QHarborError):
    """No engine has that name; use "auto" or one listed by GET /v1/engines."""

    code = "ENGINE_NOT_FOUND"


class MitigationInvalid(QHarborError):
    """The error-mitigation options cannot be honoured together; the message says which."""

    code = "MITIGATION_INVALID"


class PrecisionInvalid(QHarborError):
    """The precision is not one the centre knows; use "double" or "single"."""

    code = "PRECISION_INVALID"


class EngineNotOnDevice(QHarborError):
    """The pinned engine does not run this device; use "auto" or one the device lists."""

    code = "ENGINE_NOT_ON_DEVICE"


class EngineCannotRun(QHarborError):
    """The pinned engine cannot run this circuit or precision; the message says why."""

    code = "ENGINE_CANNOT_RUN"


# --- jobs -------------------------------------------------------------------------


class JobNotFound(QHarborError):
    """No job with that id exists in your project."""

    code = "JOB_NOT_FOUND"


class IdempotencyConflict(QHarborError):
    """The idempotency key was already used with a different request body."""

    code = "IDEMPOTENCY_CONFLICT"


class JobNotFinished(QHarborError):
    """The job has no result yet; wait for it to finish."""

    code = "JOB_NOT_FINISHED"


class JobFailed(QHarborError):
    """The job failed, so it has no result."""

    code = "JOB_FAILED"


class JobCancelled(QHarborError):
    """The job was cancelled, so it has no result."""

    code = "JOB_CANCELLED"


class JobAlreadyFinal(QHarborError):
    """The job has already finished and can no longer be cancelled."""

    code = "JOB_ALREADY_FINAL"


class JobTimeout(QHarborError):
    """The job did not finish within the time you waited."""

    code = "JOB_TIMEOUT"


# --- sessions -------------------------------------------------------------------------


class SessionNotFound(QHarborError):
    """No session or batch with that id exists in your project."""

    code = "SESSION_NOT_FOUND"


class SessionClosed(QHarborError):
    """The session was closed or expired; open a new one.

    Also recorded on queued jobs of a session that closed before they ran.
    """

    code = "SESSION_CLOSED"


# --- reservations ---------------------------------------------------------------------


class ReservationNotFound(QHarborError):
    """No reservation with that id exists in your project."""

    code = "RESERVATION_NOT_FOUND"


class ReservationInvalid(QHarborError):
    """The reservation's window cannot be booked as given; see the message for what to fix."""

    code = "RESERVATION_INVALID"


class ReservationConflict(QHarborError):
    """The device is already booked for part of that window; pick a window that is free."""

    code = "RESERVATION_CONFLICT"


class ReservationState(QHarborError):
    """The reservation is not in a state that allows this (e.g. already cancelled)."""

    code = "RESERVATION_STATE"


# --- execution (recorded on failed jobs) --------------------------------------------


class ExecutionError(QHarborError):
    """The engine failed while running the job."""

    code = "ENGINE_ERROR"


class CompileError(ExecutionError):
    """The program could not be compiled for the device."""

    code = "COMPILE_ERROR"


class WorkerLost(ExecutionError):
    """The worker running the job stopped unexpectedly, and retries were used up."""

    code = "WORKER_LOST"


# --- keys, signatures and sealed payloads -------------------------------------------


class SealedPayloadInvalid(QHarborError):
    """A sealed payload could not be opened: seal it again to the centre's current ML-KEM key (GET /v1/keys)."""  # noqa: E501

    code = "SEALED_PAYLOAD_INVALID"


class SealingKeyRequired(QHarborError):
    """Sealed jobs need your ML-KEM public key, so that their results can be sealed to you: register one with POST /v1/me/keys."""  # noqa: E501

    code = "SEALING_KEY_REQUIRED"


class KeyInvalid(QHarborError):
    """The public key is not valid: send a base64 ML-KEM-768 public key (1184 bytes)."""

    code = "KEY_INVALID"


class SignatureInvalid(QHarborError):
    """The result's signature does not verify: the result was altered, or was not signed by this centre."""  # noqa: E501

    code = "SIGNATURE_INVALID"


class ResultCorrupt(QHarborError):
    """The stored result is not the text that was signed: it was altered in the database."""

    code = "RESULT_CORRUPT"


class KeyEncryptionKeyInvalid(QHarborError):
    """The key-encryption key cannot open the centre's stored private keys: set QHARBOR_KEY_ENCRYPTION_KEY to the key they were stored with."""  # noqa: E501

    code = "KEY_ENCRYPTION_KEY_INVALID"


# --- centre programs -------------------------------------------------------------


class CentreProgramNotFound(QHarborError):
    """No program of that name runs on this centre; GET /v1/programs lists those that do."""

    code = "CENTRE_PROGRAM_NOT_FOUND"


class ProgramInputsInvalid(QHarborError):
    """The program's inputs do not match its schema; detail.errors lists each field to fix."""

    code = "PROGRAM_INPUTS_INVALID"


class ProgramRunNotFound(QHarborError):
    """No run of that program with that id exists in your project."""

    code = "PROGRAM_RUN_NOT_FOUND"


class ProgramRunFinal(QHarborError):
    """The program run has already finished."""

    code = "PROGRAM_RUN_FINAL"


class ProgramRunNotDone(QHarborError):
    """The program run has no result: it is still running, or it failed or was cancelled."""

    code = "PROGRAM_RUN_NOT_DONE"


class ProgramRunError(QHarborError):
    """The program stopped with an error; the message says what it was."""

    code = "PROGRAM_RUN_ERROR"


class ProgramLoopLost(QHarborError):
    """The program's loop process ended without saying how its run ended (it crashed or
    was killed); the run failed. Start it again; if it fails again, tell the operator."""

    code = "PROGRAM_LOOP_LOST"


# --- client side ------------------------------------------------------------------


class ConnectionFailed(QHarborError):
    """The centre could not be reached; check the URL and that it is running."""

    code = "CONNECTION_FAILED"


class NotConfigured(QHarborError):
    """No centre is configured: pass url and token, set QHARBOR_URL and QHARBOR_TOKEN, or run 'qharbor login URL TOKEN'."""  # noqa: E501

    code = "NOT_CONFIGURED"


class NotInSlurmJob(QHarborError):
    """This is not running inside a Slurm job (SLURM_JOB_ID is unset): run it from an sbatch or salloc job, or pass the job id."""  # noqa: E501

    code = "NOT_IN_SLURM_JOB"


def _all_subclasses(klass: type[QHarborError]) -> list[type[QHarborError]]:
    found: list[type[QHarborError]] = []
    for sub in klass.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


_ALL_ERRORS: list[type[QHarborError]] = [QHarborError, *_all_subclasses(QHarborError)]
ERRORS_BY_CODE: dict[str, type[QHarborError]] = {klass.code: klass for klass in _ALL_ERRORS}
