"""Clients that are too slow: a head that never completes (slowloris) and idle keep-alive.

Time limits here are upper bounds on how long the test waits for the proxy to act
(configured timeout + 2 s of slack), not latency assertions.
"""

from __future__ import annotations

import select
import time

from harness import duration_seconds
from raw_http import Conn, ConnectionClosed

CLIENT_HEADER = "1s"
SLACK = 2.0


def test_incomplete_head_gets_408_and_close(proxy):
    turnout = proxy(timeouts={"client_header": CLIENT_HEADER})
    with Conn(turnout.port(), timeout=duration_seconds(CLIENT_HEADER) + SLACK) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nX-Partial: ")
        try:
            response = conn.read_response()
        except ConnectionClosed as closed:
            raise AssertionError(f"closed without a 408 ({closed})") from None
        assert response.status_line == "HTTP/1.1 408 Request Timeout"
        assert conn.is_closed_by_peer()


def test_trickled_head_gets_408_and_close(proxy):
    """The header timeout bounds the whole head, not the gap between bytes."""
    turnout = proxy(timeouts={"client_header": CLIENT_HEADER})
    deadline = time.monotonic() + duration_seconds(CLIENT_HEADER) + SLACK
    with Conn(turnout.port()) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n")
        answered = False
        index = 0
        while time.monotonic() < deadline:
            readable, _, _ = select.select([conn.sock], [], [], 0.25)
            if readable:
                answered = True
                break
            try:
                conn.send(f"X-Trickle-{index}: x\r\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                answered = True
                break
            index += 1
        assert answered, "the proxy kept waiting for a head trickled past client_header"
        response = conn.read_response()
        assert response.status_line == "HTTP/1.1 408 Request Timeout"
        assert conn.is_closed_by_peer()


def test_idle_keepalive_connection_is_closed_quietly(proxy):
    turnout = proxy(timeouts={"client_idle": "1s"})
    with Conn(turnout.port()) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert conn.read_response().status == 200
        # An idle connection is closed without a response (nothing was asked).
        assert conn.is_closed_by_peer(timeout=1.0 + SLACK)
        assert conn.buffer == b""
