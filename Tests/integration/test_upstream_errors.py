"""What a client sees when the upstream side fails: 502, 503, 504, retries, aborted bodies."""

from __future__ import annotations

import http.client
import signal
import socket
import threading
import time

import requests

from admin_client import NO_CHECKS
from harness import LOOPBACK, SOCKET_TIMEOUT, free_port
from keepalive_load import KeepAliveLoad
from raw_http import Conn
from raw_upstream import ScriptedUpstream, read_request_head


def get(port: int, path: str = "/") -> requests.Response:
    return requests.get(f"http://{LOOPBACK}:{port}{path}", timeout=SOCKET_TIMEOUT)


def closed_address() -> str:
    """A loopback address where nothing listens: connecting is refused."""
    return f"{LOOPBACK}:{free_port()}"


def test_refused_connect_gives_502(proxy, backends):
    turnout = proxy(groups={"blue": [closed_address()], "green": [backends.green.address]})
    response = get(turnout.port())
    assert response.status_code == 502
    assert "X-Served-By" not in response.headers
    # The other listener is unaffected.
    assert get(turnout.port("test")).headers["X-Served-By"] == "green"


def test_refused_target_is_skipped_by_retrying_the_other(proxy, backends):
    turnout = proxy(groups={
        "blue": {"targets": [closed_address(), backends.blue.address], "algorithm": "round_robin"},
        "green": [backends.green.address],
    })
    connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        for index in range(20):
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, index
            assert response.getheader("X-Served-By") == "blue"
            assert body == b"Hello World! from blue\n"
    finally:
        connection.close()


def test_aborted_upstream_body_is_not_a_complete_response(proxy):
    turnout = proxy()
    connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        connection.request("GET", "/abort?after=1000")
        response = connection.getresponse()
        if response.status == 200:
            # The head went out before the upstream reset: the body must end short and the
            # client connection must be aborted, never padded or reused.
            assert response.getheader("Content-Length") == "1000000"
            try:
                body = response.read()
            except (http.client.IncompleteRead, ConnectionResetError):
                pass
            else:
                assert len(body) < 1_000_000
        else:
            # The reset came before anything reached the client: a clean 502 instead.
            assert response.status == 502
            response.read()
    finally:
        connection.close()


def test_slow_upstream_gives_504(proxy):
    turnout = proxy(timeouts={"upstream_response": "1s"})
    response = get(turnout.port(), "/slow?ms=5000")
    assert response.status_code == 504
    # Nothing of the late response leaks into the next request on a new connection.
    follow_up = get(turnout.port(), "/")
    assert follow_up.status_code == 200
    assert follow_up.content == b"Hello World! from blue\n"


def test_group_without_targets_gives_503(proxy, backends):
    turnout = proxy(groups={"blue": {"targets": []}, "green": [backends.green.address]})
    response = get(turnout.port())
    assert response.status_code == 503
    assert "X-Served-By" not in response.headers


def test_garbage_from_upstream_gives_502(proxy, raw_upstream, backends):
    garbage = raw_upstream("garbage")
    turnout = proxy(groups={"blue": [garbage.address], "green": [backends.green.address]})
    response = get(turnout.port())
    assert response.status_code == 502
    assert b"NOT HTTP" not in response.content
    assert garbage.accepted >= 1


class DyingUpstream(ScriptedUpstream):
    """A keep-alive backend that dies on the second request of a connection: it answers the first
    request of every connection, and on a connection's second request stops accepting (new
    connections are refused from then on), reports ``holding`` and, once ``release`` is set, closes
    that connection without answering. What a target killed under keep-alive load looks like to the
    proxy's pooled connection, at a moment the test chooses."""

    name = "dying upstream"
    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Served-By: dying\r\n\r\nok"

    def __init__(self):
        self.holding = threading.Event()
        self.release = threading.Event()
        super().__init__()

    def _answer(self, connection: socket.socket) -> None:
        received = read_request_head(connection, b"")
        if received is None:
            return
        connection.sendall(self.RESPONSE)
        if read_request_head(connection, received) is not None:
            self.stop_accepting()
            self.holding.set()
            self.release.wait(SOCKET_TIMEOUT)


def test_retry_after_a_failed_pooled_connection_goes_to_another_target(proxy, backends):
    """A pooled connection to a target that has just died fails before its response: the
    idempotent GET is retried on the other target, never on the dead one, however old the
    connection. One worker and round robin over [dying, blue] make the order exact: the retry
    happens while the picker's next turn is the dead target's."""
    dying = DyingUpstream()
    try:
        turnout = proxy(
            listeners={"production": {"app": 100}},
            groups={"app": {"targets": [dying.address, backends.blue.address], "algorithm": "round_robin",
                            "health_check": NO_CHECKS}},
            workers=1,
        )
        request = b"GET / HTTP/1.1\r\nHost: app.example\r\n\r\n"
        with Conn(turnout.port()) as first, Conn(turnout.port()) as second:
            first.send(request)
            assert first.read_response().header("X-Served-By") == "dying"  # its connection is pooled
            first.send(request)
            assert first.read_response().header("X-Served-By") == "blue"
            first.send(request)  # the dying target's turn: its pooled connection takes it
            assert dying.holding.wait(SOCKET_TIMEOUT), "the request did not reach the pooled connection"
            second.send(request)  # blue's turn, so the dead target's turn comes next
            assert second.read_response().header("X-Served-By") == "blue"
            dying.release.set()  # the pooled connection closes without an answer
            retried = first.read_response()
            assert retried.status == 200, retried.status_line
            assert retried.header("X-Served-By") == "blue"
    finally:
        dying.release.set()
        dying.close()


def test_a_target_killed_under_keep_alive_load_fails_no_request(proxy, demo_backend):
    """Eight keep-alive clients over two targets; one target is SIGKILLed mid-load. Requests on its
    pooled connections, on connections being opened to it and on it when it died are retried on
    the other target: no client sees an error."""
    blue, green = demo_backend("blue"), demo_backend("green")
    turnout = proxy(
        listeners={"production": {"app": 100}},
        groups={"app": {"targets": [blue.address, green.address], "health_check": NO_CHECKS}},
    )
    load = KeepAliveLoad(turnout.port(), clients=8)
    try:
        deadline = time.monotonic() + SOCKET_TIMEOUT
        while load.count() < 500 and time.monotonic() < deadline:
            time.sleep(0.02)
        green.process.kill()
        killed_at = time.monotonic()
        deadline = time.monotonic() + SOCKET_TIMEOUT
        while load.count(started_after=killed_at) < 500 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        green.process.exit_expected = True
        load.stop()
    outcomes = load.outcomes()
    failures = [outcome.error for outcome in outcomes if outcome.error is not None]
    assert failures == [], f"{len(failures)} of {len(outcomes)} requests failed: {failures[:5]}"
    after = [outcome.served_by for outcome in outcomes if outcome.started > killed_at]
    assert len(after) >= 500 and set(after[-100:]) == {"blue"}


def test_a_group_sets_its_own_upstream_response_limit(proxy, backends):
    """Blue's requests wait at most its own 1 s for a target that hangs (SIGSTOP); green keeps the
    top-level 30 s, so a 2 s answer from it still arrives."""
    turnout = proxy(
        groups={
            "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS,
                     "timeouts": {"upstream_response": "1s"}},
            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS},
        },
        timeouts={"upstream_response": "30s"},
    )
    assert get(turnout.port(), "/").status_code == 200  # blue's connection is pooled
    backends.blue.process.send_signal(signal.SIGSTOP)
    try:
        hung = get(turnout.port(), "/")
        assert hung.status_code == 504
        slow = get(turnout.port("test"), "/slow?ms=2000")
        assert slow.status_code == 200
        assert slow.headers["X-Served-By"] == "green"
    finally:
        backends.blue.process.send_signal(signal.SIGCONT)
    assert get(turnout.port(), "/").status_code == 200
