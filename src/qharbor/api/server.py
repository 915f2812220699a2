"""Runs a centre under uvicorn: in the foreground (``qharbor serve``) or in a
background thread (``qharbor demo`` and the tests)."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time

import httpx
import uvicorn

from qharbor.api import processes
from qharbor.api.app import create_app
from qharbor.api.logs import log_config
from qharbor.centre import Centre
from qharbor.settings import Settings

log = logging.getLogger(__name__)


class CentreServer:
    """One centre behind HTTP.

    With ``settings.api_processes`` above 1, it starts that many processes in all
    that serve its port (:mod:`qharbor.api.processes`) once it has started.

    Args:
        settings: the centre's settings. ``port=0`` picks a free port.
        listener: a bound listening socket to serve instead of binding one (an
            extra API process serves the one it inherited).
    """

    def __init__(self, settings: Settings, listener: socket.socket | None = None) -> None:
        self.settings = settings
        if listener is None:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((settings.host, settings.port))
        self._socket = listener
        self.port: int = self._socket.getsockname()[1]
        self.tls = settings.tls_cert is not None
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://{settings.host}:{self.port}"
        self.bootstrap_token: str | None = None
        self._started = threading.Event()
        self.app = create_app(settings, on_started=self._on_started)
        config = uvicorn.Config(
            self.app,
            log_level=settings.log_level,
            log_config=log_config(settings),
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=5,
            ssl_certfile=str(settings.tls_cert) if settings.tls_cert else None,
            ssl_keyfile=str(settings.tls_key) if settings.tls_key else None,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        #: The extra processes serving the same port, once started.
        self.api_processes: list[subprocess.Popen[bytes]] = []

    def _on_started(self, centre: Centre) -> None:
        self.bootstrap_token = centre.bootstrap_token
        if centre.bootstrap_token and self.settings.write_account_file:
            from qharbor.client.accounts import save_account

            path = save_account(
                self.url,
                centre.bootstrap_token,
                name="local",
                path=self.settings.account_file,
            )
            print(
                f"First start: created the admin user and project 'default'.\n"
                f"Admin token (shown once): {centre.bootstrap_token}\n"
                f"Saved to {path} so the CLI on this machine uses it.",
                flush=True,
            )
        extra = self.settings.api_processes - 1
        if self.settings.run_jobs and extra > 0:
            self.api_processes = processes.start(self.settings, self._socket, extra)
        self._started.set()

    def start(self, timeout: float = 120.0) -> None:
        """Serve in a background thread; return once the centre answers."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError("the centre stopped while starting; see the log above")
            if self._started.is_set() and self._answers():
                if not processes.wait_ready(self.api_processes):
                    raise RuntimeError("an extra API process stopped while starting")
                return
            time.sleep(0.05)
        raise TimeoutError(f"the centre did not answer at {self.url} within {timeout} s")

    def _answers(self) -> bool:
        try:
            # A liveness probe of our own socket: the certificate is checked by clients,
            # and may name a host other than the one we listen on.
            return (
                httpx.get(f"{self.url}/v1/health", timeout=2, verify=not self.tls).status_code
                == 200
            )
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop serving and wait for the centre to shut down."""
        processes.stop(self.api_processes)
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._socket.close()

    def serve_forever(self, *, announce: bool = True) -> None:
        """Serve in this thread until Ctrl+C or SIGTERM; ``announce`` prints where."""
        if announce:
            print(f"qharbor centre at {self.url}  (API docs: {self.url}/docs)", flush=True)
        try:
            self._server.run(sockets=[self._socket])
        except SystemExit:
            # uvicorn exits when the centre fails to start; report a user error as one.
            startup_error = getattr(self.app.state, "startup_error", None)
            if startup_error is not None:
                raise startup_error from None
            raise
        finally:
            processes.stop(self.api_processes)
            self._socket.close()

    def __enter__(self) -> CentreServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
