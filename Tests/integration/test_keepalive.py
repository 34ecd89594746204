"""Client connection persistence: reuse, HTTP/1.0 and Connection: close."""

from __future__ import annotations

import http.client
import socket
import time

from harness import LOOPBACK, SOCKET_TIMEOUT
from raw_http import Conn


class CountingConnection(http.client.HTTPConnection):
    """An HTTPConnection that counts how often it (re)connects."""

    connects = 0

    def connect(self):
        self.connects += 1
        super().connect()


def test_one_connection_carries_a_hundred_requests(proxy):
    turnout = proxy()
    connection = CountingConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        first_socket = None
        local_address = None
        for index in range(100):
            connection.request("GET", "/" if index % 2 else "/health")
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, index
            assert response.getheader("X-Served-By") == "blue"
            assert not response.will_close, f"proxy asked to close after request {index}"
            if index % 2:
                assert body == b"Hello World! from blue\n"
            if first_socket is None:
                first_socket = connection.sock
                local_address = connection.sock.getsockname()
            assert connection.sock is first_socket, f"reconnected before request {index}"
            assert connection.sock.getsockname() == local_address
        assert connection.connects == 1
    finally:
        connection.close()


def test_http10_client_is_closed_after_the_response(proxy):
    turnout = proxy()
    with Conn(turnout.port()) as conn:
        conn.send(b"GET / HTTP/1.0\r\nHost: app.example\r\n\r\n")
        response = conn.read_response()
        assert response.status == 200
        assert response.header("X-Served-By") == "blue"
        assert response.body == b"Hello World! from blue\n"
        assert conn.is_closed_by_peer()


def test_connection_close_is_honoured(proxy):
    turnout = proxy()
    with Conn(turnout.port()) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
        response = conn.read_response()
        assert response.status == 200
        assert response.header("X-Served-By") == "blue"
        assert response.body == b"Hello World! from blue\n"
        assert (response.header("Connection") or "").lower() == "close"
        assert conn.is_closed_by_peer()


def bytes_after_close_are_refused(conn: Conn) -> bool:
    """Sends a byte after the peer's FIN: True when the peer's socket is gone (the byte draws a
    reset), False when the peer still reads and discards what comes (it lingers)."""
    conn.send(b"x")
    time.sleep(0.2)
    try:
        conn.sock.send(b"y")
        time.sleep(0.2)
        conn.sock.recv(1)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


def test_a_client_that_asked_to_close_is_closed_at_once(proxy):
    """After `Connection: close` with nothing more sent, the proxy closes its socket as soon as the
    response is out instead of lingering for the client's FIN (a later byte is answered with a reset)."""
    turnout = proxy()
    with Conn(turnout.port(), timeout=1.0) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
        assert conn.read_response().body == b"Hello World! from blue\n"
        assert conn.is_closed_by_peer()
        assert bytes_after_close_are_refused(conn)


def test_a_proxy_initiated_close_still_lingers(proxy):
    """A close the client did not ask for (a malformed second request behind a good one) lingers:
    the client may still be sending, and a reset could destroy the error response unread."""
    turnout = proxy()
    with Conn(turnout.port(), timeout=1.0) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: app.example\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
        assert conn.read_response().status == 200
        assert conn.read_response().status == 400
        assert conn.is_closed_by_peer()
        assert not bytes_after_close_are_refused(conn)


def test_pipelined_requests_are_answered_in_order(proxy):
    turnout = proxy()
    with Conn(turnout.port()) as conn:
        conn.send(
            b"GET /status?code=201 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /status?code=202 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        assert [conn.read_response().status for _ in range(3)] == [201, 202, 200]
