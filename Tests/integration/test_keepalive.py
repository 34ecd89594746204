"""Client connection persistence: reuse, HTTP/1.0 and Connection: close."""

from __future__ import annotations

import http.client

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


def test_pipelined_requests_are_answered_in_order(proxy):
    turnout = proxy()
    with Conn(turnout.port()) as conn:
        conn.send(
            b"GET /status?code=201 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /status?code=202 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        assert [conn.read_response().status for _ in range(3)] == [201, 202, 200]
