"""A small client for the admin API, plus the checks the control-plane tests share.

Every call returns the raw ``requests.Response`` so a test can assert on status, headers and
body bytes; the helpers that return parsed JSON first assert the call succeeded.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
from typing import Any, Callable

import requests

from harness import LOOPBACK, READINESS_TIMEOUT, SOCKET_TIMEOUT, Proxy

# A group setting for tests that want every target routable from registration.
NO_CHECKS = {"enabled": False}

TARGET_STATES = ("initial", "healthy", "unhealthy", "draining", "unused")


class AdminClient:
    """Talks to one proxy's admin API over a keep-alive session."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.session = requests.Session()

    @classmethod
    def of(cls, turnout: Proxy, token: str | None = None) -> "AdminClient":
        return cls(turnout.admin_url, token)

    def close(self) -> None:
        self.session.close()

    # --- raw requests ------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        token: str | None = None,
        authenticate: bool = True,
    ) -> requests.Response:
        """One request; ``json_body`` is serialised, ``body`` is sent as is (for malformed input)."""
        sent_headers = dict(headers or {})
        bearer = token if token is not None else self.token
        if authenticate and bearer is not None:
            sent_headers.setdefault("Authorization", f"Bearer {bearer}")
        data = body
        if json_body is not None:
            data = json.dumps(json_body).encode()
        if data is not None:
            sent_headers.setdefault("Content-Type", "application/json")
        return self.session.request(
            method, self.base_url + path, data=data, headers=sent_headers, params=params, timeout=SOCKET_TIMEOUT
        )

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json_body: Any = None, **kwargs) -> requests.Response:
        return self.request("POST", path, json_body=json_body, **kwargs)

    def put(self, path: str, json_body: Any = None, **kwargs) -> requests.Response:
        return self.request("PUT", path, json_body=json_body, **kwargs)

    def delete(self, path: str, **kwargs) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    # --- endpoints ---------------------------------------------------------------------------

    def status(self) -> dict:
        return ok_json(self.get("/v1/status"))

    def generation(self) -> int:
        return self.status()["generation"]

    def forwards(self) -> dict[str, dict[str, int]]:
        """Every listener's forward weights from ``GET /v1/status``."""
        return {listener["name"]: listener["forward"] for listener in self.status()["listeners"]}

    def targets(self, group: str) -> list[dict]:
        """The target objects of ``group`` from ``GET /v1/status``."""
        return group_targets(self.status(), group)

    def target(self, group: str, address: str) -> dict | None:
        """One target object from ``GET /v1/status``; None when the group does not list it."""
        return find_target(self.status(), group, address)

    def switch(self, to: str, *, headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
               **fields) -> requests.Response:
        return self.post("/v1/switch", {"to": to, **fields}, headers=headers, params=params)

    def put_routing(self, listeners: dict[str, dict[str, int]], *, headers: dict[str, str] | None = None,
                    params: dict[str, str] | None = None) -> requests.Response:
        return self.put("/v1/routing", {"listeners": listeners}, headers=headers, params=params)

    def set_forward(self, listener: str, forward: dict[str, int], *, headers: dict[str, str] | None = None,
                    params: dict[str, str] | None = None) -> requests.Response:
        return self.put(f"/v1/listeners/{listener}/forward", forward, headers=headers, params=params)

    def audit(self, limit: int | None = None) -> list[dict]:
        params = None if limit is None else {"limit": str(limit)}
        return ok_json(self.get("/v1/audit", params=params))["entries"]

    def metrics_text(self) -> str:
        response = self.get("/metrics")
        assert response.status_code == 200, describe(response)
        return response.text

    # --- waiting -----------------------------------------------------------------------------

    def wait_for_target(self, group: str, address: str, predicate: Callable[[dict | None], bool],
                        timeout: float, what: str = "") -> dict | None:
        """Poll ``GET /v1/status`` until ``predicate(target object or None)`` holds; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        history: list[Any] = []
        while True:
            current = self.target(group, address)
            summary = None if current is None else (current["state"], current["reason"])
            if not history or history[-1] != summary:
                history.append(summary)
            if predicate(current):
                return current
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{group}/{address} did not become {what or 'as expected'} within {timeout}s; "
                    f"states seen (state, reason): {history}"
                )
            time.sleep(0.02)


def ok_json(response: requests.Response) -> dict:
    """The JSON object of a 200 response; fails with the response when it is anything else."""
    assert response.status_code == 200, describe(response)
    assert response.headers.get("Content-Type", "").startswith("application/json"), describe(response)
    document = response.json()
    assert isinstance(document, dict), describe(response)
    return document


def assert_error(response: requests.Response, status: int, code: str) -> dict:
    """The response is the contract's error object with this status and code; returns the error."""
    assert response.status_code == status, describe(response)
    assert response.headers.get("Content-Type", "").startswith("application/json"), describe(response)
    document = response.json()
    assert set(document) == {"error"}, describe(response)
    error = document["error"]
    assert error["code"] == code, describe(response)
    assert isinstance(error["message"], str) and error["message"].strip(), describe(response)
    return error


def describe(response: requests.Response) -> str:
    """Method, URL, status, headers and body of a response, for assertion messages."""
    request = response.request
    return (f"{request.method} {request.url} → {response.status_code} {dict(response.headers)} "
            f"{response.content[:2000]!r}")


def group_targets(status: dict, group: str) -> list[dict]:
    for entry in status["target_groups"]:
        if entry["name"] == group:
            return entry["targets"]
    raise AssertionError(f"no target group {group!r} in status: {status}")


def find_target(status: dict, group: str, address: str) -> dict | None:
    for target in group_targets(status, group):
        if target["target"] == address:
            return target
    return None


def wait_for_admin_api(turnout: Proxy, timeout: float = READINESS_TIMEOUT) -> None:
    """Wait until ``GET /healthz`` on the admin port answers 200; fail with the proxy's log otherwise."""
    url = f"{turnout.admin_url}/healthz"
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline and turnout.process.is_running():
        try:
            response = requests.get(url, timeout=1.0)
            if response.status_code == 200:
                return
            last = f"status {response.status_code}"
        except requests.RequestException as failure:
            last = f"{type(failure).__name__}: {failure}"
        time.sleep(0.05)
    raise RuntimeError(
        f"admin API at {url} not ready within {timeout}s (last: {last}; proxy running: "
        f"{turnout.process.is_running()})\n--- output ---\n{turnout.process.log_tail()}"
    )


def served_by(port: int, count: int, path: str = "/") -> list[str | None]:
    """``count`` GETs over one keep-alive connection; each response's X-Served-By (all must be 200)."""
    names: list[str | None] = []
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
    try:
        for index in range(count):
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, (index, response.status, body)
            names.append(response.getheader("X-Served-By"))
    finally:
        connection.close()
    return names


def statuses(port: int, count: int, path: str = "/") -> list[tuple[int, str | None]]:
    """``count`` GETs, each on a fresh connection; (status, X-Served-By) of each."""
    results = []
    for _ in range(count):
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            results.append((response.status, response.getheader("X-Served-By")))
        finally:
            connection.close()
    return results


def metric_samples(exposition: str, sample_name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample called ``sample_name`` (e.g. ``turnout_requests_total``) as (labels, value)."""
    # Imported here so conftest (which imports this module) works where only the metrics tests lack it.
    from prometheus_client.parser import text_string_to_metric_families

    return [
        (dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == sample_name
    ]


def metric_sum(exposition: str, sample_name: str, **labels: str) -> float:
    """The sum of the samples called ``sample_name`` whose labels include ``labels``."""
    return sum(
        value
        for sample_labels, value in metric_samples(exposition, sample_name)
        if all(sample_labels.get(key) == wanted for key, wanted in labels.items())
    )


class ProbeRecorder:
    """A loopback HTTP server that answers every GET with 200 and records when each one arrived.

    Pointed at by a group's ``health_check.port``, it receives every probe of that group's targets,
    so a test can see exactly when probes happen. ``held()`` keeps probes from passing while a test
    acts: a probe that arrives meanwhile gets no answer until the hold ends."""

    def __init__(self):
        import http.server

        recorder = self
        self._lock = threading.Condition()
        self._probes: list[tuple[float, str, str]] = []
        self._holding = False
        self._released = threading.Event()
        # Probes answered while not held whose connection the prober has not closed yet.
        self._answering = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server's naming)
                with recorder._lock:
                    recorder._probes.append((time.monotonic(), self.path, self.headers.get("Host", "")))
                    held = recorder._holding
                    released = recorder._released
                    if not held:
                        recorder._answering += 1
                if held:
                    released.wait()
                try:
                    body = b"ok\n"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    self.wfile.flush()
                    if not held:
                        # The prober closes the probe's socket in the turn that counts its result, so once
                        # it has, a status read shows what the answer did.
                        self.connection.settimeout(SOCKET_TIMEOUT)
                        self.connection.recv(1)
                except OSError:
                    pass  # the prober gave up meanwhile (a held probe timed out): its failure is counted
                finally:
                    if not held:
                        with recorder._lock:
                            recorder._answering -= 1
                            recorder._lock.notify_all()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def held(self):
        """Hold every probe that arrives inside the block, answering them when it ends; yields the time
        the hold began. Probes answered before it have had their results counted by the time the block
        starts, so no probe passes between the block's first statement and its end, however slow the
        machine. A held probe can still time out, which counts as one failed check."""
        with self._lock:
            assert not self._holding, "already holding"
            self._holding = True
            self._released = threading.Event()
            began = time.monotonic()
        try:
            with self._lock:
                settled = self._lock.wait_for(lambda: self._answering == 0, timeout=SOCKET_TIMEOUT)
                assert settled, f"{self._answering} probes answered before the hold still unread by the prober"
            yield began
        finally:
            with self._lock:
                self._holding = False
                self._released.set()

    def probe_times(self, since: float = 0.0) -> list[float]:
        """Arrival times of the probes that arrived after ``since``, oldest first."""
        with self._lock:
            return [arrived for arrived, _, _ in self._probes if arrived > since]

    def probes(self) -> list[tuple[float, str, str]]:
        """Every probe so far as (arrival time, path, Host header)."""
        with self._lock:
            return list(self._probes)

    def wait_for_probe(self, since: float, timeout: float) -> float:
        """Arrival time of the first probe after ``since``; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            arrived = self.probe_times(since)
            if arrived:
                return arrived[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no probe within {timeout}s ({len(self.probes())} probes so far)")
            time.sleep(0.01)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
