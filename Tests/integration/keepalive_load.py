"""Keep-alive load for the switch tests: client threads sending GETs back to back through the
production listener, each recording every request's outcome in its own list (no lock on the
request path)."""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from dataclasses import dataclass

from harness import LOOPBACK

CLIENT_TIMEOUT = 5.0


@dataclass
class Outcome:
    started: float
    finished: float
    served_by: str | None
    error: str | None

    @property
    def failed(self) -> bool:
        return self.error is not None


def hammer(port: int, stop: threading.Event, outcomes: list[Outcome], host: str | None = None,
           tls: ssl.SSLContext | None = None) -> None:
    """Keep-alive GETs of ``/`` (with ``host`` as the Host header, when given) until ``stop``, over TLS with
    ``tls``; a failure (error, non-200, a body that does not name the group in X-Served-By) is recorded and the
    connection reopened."""
    headers = {"Host": host} if host else {}

    def connect() -> http.client.HTTPConnection:
        if tls is not None:
            return http.client.HTTPSConnection(LOOPBACK, port, timeout=CLIENT_TIMEOUT, context=tls)
        return http.client.HTTPConnection(LOOPBACK, port, timeout=CLIENT_TIMEOUT)

    connection = connect()
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                connection.request("GET", "/", headers=headers)
                response = connection.getresponse()
                body = response.read()
                finished = time.monotonic()
                served_by = response.getheader("X-Served-By")
                if response.status != 200:
                    outcome = Outcome(started, finished, served_by, f"status {response.status}")
                elif body != f"Hello World! from {served_by}\n".encode():
                    outcome = Outcome(started, finished, served_by, f"body {body!r}")
                else:
                    outcome = Outcome(started, finished, served_by, None)
            except (OSError, http.client.HTTPException) as failure:
                outcome = Outcome(started, time.monotonic(), None, f"{type(failure).__name__}: {failure}")
                connection.close()
                connection = connect()
            outcomes.append(outcome)
    finally:
        connection.close()


class KeepAliveLoad:
    """``clients`` hammer threads against ``port`` (sending ``host``, when given; over TLS with ``tls``), started
    at once; ``stop()`` joins them."""

    def __init__(self, port: int, clients: int, host: str | None = None, tls: ssl.SSLContext | None = None):
        self._stop = threading.Event()
        self.per_thread: list[list[Outcome]] = [[] for _ in range(clients)]
        self._threads = [threading.Thread(target=hammer, args=(port, self._stop, outcomes, host, tls), daemon=True)
                         for outcomes in self.per_thread]
        for thread in self._threads:
            thread.start()

    def outcomes(self) -> list[Outcome]:
        """Every outcome so far, in order of start."""
        return sorted((o for outcomes in self.per_thread for o in list(outcomes)), key=lambda o: o.started)

    def count(self, started_after: float = float("-inf")) -> int:
        """How many requests so far started after ``started_after`` (all of them by default)."""
        return sum(1 for outcomes in self.per_thread for o in list(outcomes) if o.started > started_after)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=CLIENT_TIMEOUT + 2)
        assert not any(thread.is_alive() for thread in self._threads), "a client thread did not stop"
