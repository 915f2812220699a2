"""The HTTP session under the client: auth, JSON, timeouts, retries, error mapping.

Retries follow one rule: a request is sent again only when that cannot do
anything twice. Reads (GET) and submissions that carry an ``Idempotency-Key``
are retried on connection errors, timeouts and 502/503/504; any request is
retried when the connection was refused, or answered 429 (the rate limiter
refuses before anything is done), because then nothing happened at the centre.
A ``Retry-After`` header sets the wait.
"""

from __future__ import annotations

import contextlib
import email.utils
import os
import platform
import random
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from qharbor import __version__, errors
from qharbor.client.accounts import normalize_url

RETRY_STATUSES = frozenset({429, 502, 503, 504})
USER_AGENT = f"qharbor-client/{__version__} python/{platform.python_version()}"

# Errors after which the request may or may not have reached the centre.
_MAYBE_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.NetworkError,
    httpx.TimeoutException,
    httpx.RemoteProtocolError,
)
# Errors that prove nothing was sent, so even a plain POST can be retried.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request.

    Attributes:
        retries: Retries after the first try (so ``retries + 1`` tries in all).
        backoff_s: The first delay in seconds; it doubles on every retry.
        max_backoff_s: The longest delay from backoff, in seconds.
        max_retry_after_s: The longest ``Retry-After`` the client honours, in seconds.
    """

    retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 60.0

    def delay(
        self, retry: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``retry`` (0-based).

        A server's ``Retry-After`` wins (capped at ``max_retry_after_s``);
        otherwise exponential backoff with "equal jitter": between half and all
        of ``backoff_s * 2**retry``, so many clients do not retry in lockstep.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        ceiling = min(self.max_backoff_s, self.backoff_s * (2**retry))
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


NO_RETRIES = RetryPolicy(retries=0)

CA_BUNDLE_ENV = "QHARBOR_CA_BUNDLE"


def _untrusted_certificate(exc: BaseException) -> bool:
    """Whether a connection failed because the server's certificate did not verify."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _tls_context(ca_bundle: str | os.PathLike[str] | None) -> ssl.SSLContext | bool:
    """How to check the centre's certificate: the system's CAs, or a given PEM bundle.

    ``ca_bundle`` wins over ``$QHARBOR_CA_BUNDLE``; either is a PEM file of the
    certificates to trust (e.g. a centre's own CA, or its self-signed certificate).
    """
    path = ca_bundle or os.environ.get(CA_BUNDLE_ENV)
    if not path:
        return True
    return ssl.create_default_context(cafile=os.fspath(path))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _exact_retry_after(response: httpx.Response) -> float | None:
    """The seconds a qharbor 429 names in its body (``detail.retry_after_s``), which
    ``Retry-After`` rounds up to whole seconds; None for any other answer."""
    if response.status_code != 429:
        return None
    try:
        response.read()
        value = response.json()["error"]["detail"]["retry_after_s"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0.0, float(value))


class RestSession:
    """An authenticated, retrying JSON session with one centre.

    Args:
        url: The centre's base URL, e.g. ``http://127.0.0.1:8000``.
        token: The bearer token, or None for unauthenticated routes only.
        timeout: Seconds to wait for a connection and for each read.
        retry: The retry policy.
        transport: An httpx transport; tests script answers with ``httpx.MockTransport``.
        sleep: The function that waits between retries (seconds).
        ca_bundle: A PEM file of certificates to trust.
        auth: Sets the token on each request instead of ``token`` (a single sign-on's
            :class:`~qharbor.client.sso.SsoAuth`, which refreshes it).
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        ca_bundle: str | os.PathLike[str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token and auth is None:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=_tls_context(ca_bundle),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> RestSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self, path: str, *, params: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """GET ``path`` and return the decoded JSON body."""
        return self.request("GET", path, params=params, timeout=timeout)

    def post(
        self,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        idempotent: bool = False,
    ) -> Any:
        """POST ``path`` and return the decoded JSON body.

        The POST is retried only if it is ``idempotent`` on the centre, or if
        ``headers`` carry an ``Idempotency-Key``.
        """
        return self.request(
            "POST",
            path,
            params=params,
            json=json,
            headers=headers,
            timeout=timeout,
            idempotent=idempotent or None,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request, retrying as the policy allows, and decode its JSON answer.

        Args:
            method: The HTTP method.
            path: The path under the base URL, e.g. ``/v1/jobs``.
            params: Query parameters; None values are left out.
            json: The JSON body.
            headers: Extra headers.
            timeout: Seconds for this request's reads, if not the session's.
            idempotent: Whether sending it twice does no harm; by default true
                for GET and for requests with an ``Idempotency-Key`` header.

        Raises:
            errors.QHarborError: The centre answered with an error; the most
                specific class for its code.
            errors.ConnectionFailed: The centre could not be reached.
        """
        query = {k: v for k, v in (params or {}).items() if v is not None}
        request = self._http.build_request(
            method,
            path,
            # httpx replaces a query written in ``path`` with ``params``, even empty ones.
            params=query or None,
            json=json,
            headers=headers,
            timeout=httpx.Timeout(self.timeout, read=timeout)
            if timeout
            else httpx.USE_CLIENT_DEFAULT,
        )
        response = self._send(request, idempotent=idempotent)
        return decode(response)

    @contextmanager
    def stream(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        read_timeout: float | None = None,
    ) -> Iterator[httpx.Response]:
        """Open a streaming GET (for server-sent events); connecting is retried.

        Yields:
            The open response, already checked to be a success.
        """
        query = {k: v for k, v in (params or {}).items() if v is not None}
        request = self._http.build_request(
            "GET",
            path,
            params=query,
            headers={"Accept": "text/event-stream"},
            timeout=httpx.Timeout(self.timeout, read=read_timeout),
        )
        response = self._send(request, stream=True)
        try:
            yield response
        except httpx.TransportError as exc:
            raise self._connection_failed(exc, request) from exc
        finally:
            response.close()

    def pause(self, retry: int, retry_after: float | None = None) -> None:
        """Wait before retry number ``retry`` (0-based), as the retry policy says."""
        self._sleep(self.retry.delay(retry, retry_after))

    def _send(
        self, request: httpx.Request, *, idempotent: bool | None = None, stream: bool = False
    ) -> httpx.Response:
        if idempotent is None:
            idempotent = request.method in ("GET", "HEAD") or "Idempotency-Key" in request.headers
        retry = 0
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except _MAYBE_SENT_ERRORS as exc:
                if _untrusted_certificate(exc):
                    # Trying again cannot help; say what will.
                    raise errors.ConnectionFailed(
                        f"the centre at {self.url} presented a TLS certificate this client "
                        f"does not trust ({exc}); pass ca_bundle=PATH (CLI: --ca-bundle) or "
                        f"set {CA_BUNDLE_ENV} to a PEM file with the centre's CA",
                        url=self.url,
                    ) from exc
                retryable = idempotent or isinstance(exc, _NOT_SENT_ERRORS)
                if not retryable or retry >= self.retry.retries:
                    raise self._connection_failed(exc, request, tries=retry + 1) from exc
                self.pause(retry)
                retry += 1
                continue
            retryable = idempotent or response.status_code == 429
            if response.status_code in RETRY_STATUSES and retryable and retry < self.retry.retries:
                wait = _exact_retry_after(response)
                if wait is None:
                    wait = parse_retry_after(response.headers.get("Retry-After"))
                response.close()
                self.pause(retry, wait)
                retry += 1
                continue
            if stream and not response.is_success:
                response.read()
                response.close()
                decode(response)  # raises the centre's error
            return response

    def _connection_failed(
        self, exc: Exception, request: httpx.Request, tries: int = 1
    ) -> errors.ConnectionFailed:
        attempts = f" after {tries} tries" if tries > 1 else ""
        reason = str(exc) or type(exc).__name__
        return errors.ConnectionFailed(
            f"could not reach the centre at {self.url}{attempts} ({reason}); "
            "check the URL and that the centre is running",
            url=self.url,
            path=request.url.path,
        )


def decode(response: httpx.Response) -> Any:
    """The JSON body of a successful response, or raise the error it carries.

    Raises:
        errors.QHarborError: For any non-2xx answer: the class named by its
            ``{"error": {"code": ...}}`` body, or one chosen from the HTTP status.
    """
    if response.is_success:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise errors.QHarborError(
                f"the centre at {response.request.url} answered with a body that is not JSON",
                status=response.status_code,
            ) from exc
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        raise errors.QHarborError.from_json(body)
    raise _error_for_status(response)


def _error_for_status(response: httpx.Response) -> errors.QHarborError:
    """An error for an answer without the centre's error body (e.g. from a proxy)."""
    status = response.status_code
    snippet = response.text.strip().replace("\n", " ")[:200]
    where = f"{response.request.method} {response.request.url}"
    classes: dict[int, type[errors.QHarborError]] = {
        400: errors.InvalidRequest,
        401: errors.Unauthenticated,
        403: errors.Forbidden,
        404: errors.NotFound,
        405: errors.MethodNotAllowed,
        413: errors.PayloadTooLarge,
        422: errors.InvalidRequest,
    }
    klass = classes.get(status)
    if klass is None and status in RETRY_STATUSES:
        klass = errors.ConnectionFailed
    klass = klass or errors.QHarborError
    message = f"{where} answered HTTP {status}"
    if snippet:
        message += f": {snippet}"
    return klass(message, status=status)
